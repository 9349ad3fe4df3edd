// A custom XDP program (--filename/--progname, --steer): opened, checked for
// an xsks_map, loaded and attached through libxdp. Detaching is the host's
// job (it detaches by program id, whoever loaded it).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string>
#include <vector>

#include "stage.h"

struct bpf_object;
struct xdp_program;
struct fair_queue;

struct loaded_program {
	struct bpf_object *obj;
	struct xdp_program *prog;
	int xsks_map_fd;
	int xsks_lane_fd; // the sparse lanes' XSKMAP (bpf/xsk_fair.c), or -1
	uint32_t id;
	const char *name;
	// The admission control blocks (a map named fair_queues, mapped into
	// our memory), or NULL when the program has none.
	struct fair_queue *fair_queues;
	uint32_t fair_queue_count;
	size_t fair_map_len;
};

// What a failed program_load found out, besides its errno.
struct program_failure {
	enum shim_stage stage;
	std::string program;		   // the program's name, once found
	std::vector<std::string> programs; // FIND_PROGRAM: the programs the object has
	std::string verifier_log;	   // LOAD_PROGRAM: the kernel verifier's own words
};

// Returns 0 or a negative errno; *why says which stage failed and what it found.
int program_load(const char *filename, const char *progname, int ifindex, uint32_t xdp_flags,
		 struct loaded_program *out, struct program_failure *why);
// Frees libxdp's and libbpf's objects; the program stays attached until detached.
void program_close(struct loaded_program *lp);
