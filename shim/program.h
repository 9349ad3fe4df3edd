// A custom XDP program (--filename/--progname, --steer): opened, checked for
// an xsks_map, loaded and attached through libxdp. Detaching is the host's
// job (it detaches by program id, whoever loaded it).
#pragma once
#include <stdint.h>

struct xdp_program;

struct loaded_program {
	struct xdp_program *prog;
	int xsks_map_fd;
	uint32_t id;
	const char *name;
};

// Returns 0 or a negative errno; *why says which step failed.
int program_load(const char *filename, const char *progname, int ifindex, uint32_t xdp_flags,
		 struct loaded_program *out, const char **why);
// Frees libxdp's object; the program stays attached until detached.
void program_close(struct loaded_program *lp);
