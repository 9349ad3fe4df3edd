// Where opening a port or loading an XDP program failed. The addon throws the
// stage and an errno as numbers, and exports the stages to JavaScript by name
// (`stages`); host/dataplane/errors.ts turns the pair into the line the user
// sees. Nothing on either side reads a library's wording to know what failed.
#pragma once

// X(NAME, what was being done): NAME is the name JavaScript sees.
#define SHIM_STAGES(X)                                                                                                 \
	X(FIND_INTERFACE, "find the interface")                                                                        \
	X(RESERVE_SLOT, "reserve a slot in the addon's table")                                                         \
	X(CHECK_LAYOUT, "check the memory layout")                                                                     \
	X(ALLOCATE, "allocate the port's lists")                                                                       \
	X(CREATE_UMEM, "create the UMEM")                                                                              \
	X(CREATE_SOCKET, "create the AF_XDP socket")                                                                   \
	X(SET_BUSY_POLL, "set busy polling")                                                                           \
	X(OPEN_OBJECT, "open the BPF object")                                                                          \
	X(FIND_PROGRAM, "find the named program in the object")                                                        \
	X(FIND_XSKS_MAP, "find xsks_map")                                                                              \
	X(LOAD_PROGRAM, "load the program (the kernel's verifier)")                                                    \
	X(ATTACH_PROGRAM, "attach the program to the interface")                                                       \
	X(MAP_FAIR_QUEUES, "map fair_queues")                                                                          \
	X(ENTER_XSKS_MAP, "enter the socket in xsks_map")                                                              \
	X(SET_ADMISSION, "give the queue its entry in fair_queues")                                                    \
	X(OPEN_SPARSE_LANE, "open the queue's sparse lane socket")                                                     \
	X(ENTER_XSKS_LANE, "enter the sparse lane in xsks_lane")

enum shim_stage {
#define SHIM_STAGE_ENUM(name, what) STAGE_##name,
	SHIM_STAGES(SHIM_STAGE_ENUM)
#undef SHIM_STAGE_ENUM
};
