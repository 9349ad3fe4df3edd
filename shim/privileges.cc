// Dropping root after set-up (--user): switch groups, gid and uid, keep only
// the capabilities named, and forbid gaining any back (no_new_privs).
//
// Credentials are per thread in Linux, and Node runs many threads (V8's, libuv's,
// the packet workers, one that blocks every signal). glibc's setgroups, setresgid
// and setresuid change every thread (its setxid broadcast); capset and prctl only
// the calling one. So:
//   - the calling (main) thread sets keep-caps first: through the uid switch it
//     alone keeps its permitted set; every other thread, not having it, loses all
//     of its capabilities at the switch (permitted, effective, ambient);
//   - the calling thread then narrows its sets to the kept capabilities and its
//     bounding set likewise (done before the switch: it needs CAP_SETPCAP);
//   - no_new_privs reaches every thread through a seccomp filter that allows
//     every call, installed with TSYNC: the kernel sets no_new_privs on each
//     thread it syncs. Nothing else can reach a thread that blocks all signals.
// Threads started afterwards inherit the calling thread's credentials.
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int last_cap(void)
{
	int last = CAP_LAST_CAP;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

static bool kept(uint64_t keep, int cap)
{
	return cap < 64 && (keep >> cap) & 1;
}

// Every capability outside keep leaves the calling thread's bounding set.
static int narrow_bounding_set(uint64_t keep)
{
	for (int cap = 0; cap <= last_cap(); cap++) {
		if (!kept(keep, cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return errno;
	}
	return 0;
}

// The calling thread's permitted and effective sets become keep; inheritable empty.
static int set_capabilities(uint64_t keep)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	data[0].permitted = data[0].effective = (uint32_t)keep;
	data[1].permitted = data[1].effective = (uint32_t)(keep >> 32);
	return syscall(SYS_capset, &header, data) ? errno : 0;
}

// A filter that allows every system call: its only purpose is TSYNC's side
// effect of setting no_new_privs on every thread. SPEC_ALLOW keeps the kernel
// from turning on its speculative store bypass mitigation for a seccomp task.
static int no_new_privs_everywhere(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return errno;
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { 1, allow };
	unsigned long flags = SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW;
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0)
		return errno;
	return r > 0 ? EAGAIN : 0; // a thread that could not be synced (its tid is r)
}

int drop_privileges(const struct drop_request *req, const char **step)
{
	int err = 0;
#define STEP(name, call)                                                                                               \
	do {                                                                                                           \
		*step = name;                                                                                          \
		if ((err = (call)))                                                                                    \
			return err;                                                                                    \
	} while (0)
	STEP("prctl(PR_SET_KEEPCAPS)", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ? errno : 0);
	STEP("prctl(PR_CAPBSET_DROP)", narrow_bounding_set(req->keep));
	STEP("setgroups", setgroups(req->group_count, req->groups) ? errno : 0);
	STEP("setresgid", setresgid(req->gid, req->gid, req->gid) ? errno : 0);
	STEP("setresuid", setresuid(req->uid, req->uid, req->uid) ? errno : 0);
	STEP("capset", set_capabilities(req->keep));
	STEP("prctl(PR_SET_KEEPCAPS, 0)", prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) ? errno : 0);
	STEP("no_new_privs", no_new_privs_everywhere());
#undef STEP
	*step = nullptr;
	return 0;
}
