// Dropping root after set-up: see privileges.cc.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct drop_request {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t group_count;
	uint64_t keep; // capability bits the process keeps (bit n: capability n)
};

// Returns 0, or an errno with *step naming the call that failed. A failure
// part-way leaves the process partly dropped: the caller must stop it.
int drop_privileges(const struct drop_request *req, const char **step);
