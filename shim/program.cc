#include "program.h"

#include <errno.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../bpf/xsk_fair.h"

static enum xdp_attach_mode mode_of(uint32_t xdp_flags)
{
	if (xdp_flags & XDP_FLAGS_SKB_MODE)
		return XDP_MODE_SKB;
	if (xdp_flags & XDP_FLAGS_DRV_MODE)
		return XDP_MODE_NATIVE;
	return XDP_MODE_UNSPEC;
}

// A program with admission control (bpf/xsk_fair.c) has an mmap-able array
// fair_queues; mapping it lets each port steer its queue with plain stores.
static int map_fair_queues(struct xdp_program *prog, struct loaded_program *out)
{
	struct bpf_map *map = bpf_object__find_map_by_name(xdp_program__bpf_obj(prog), "fair_queues");
	out->fair_queues = NULL;
	if (!map)
		return 0;
	if (bpf_map__type(map) != BPF_MAP_TYPE_ARRAY || bpf_map__value_size(map) != sizeof(struct fair_queue) ||
	    !(bpf_map__map_flags(map) & BPF_F_MMAPABLE))
		return -EINVAL;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = ((size_t)bpf_map__max_entries(map) * sizeof(struct fair_queue) + page - 1) / page * page;
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (mem == MAP_FAILED)
		return -errno;
	out->fair_queues = (struct fair_queue *)mem;
	out->fair_queue_count = bpf_map__max_entries(map);
	out->fair_map_len = len;
	return 0;
}

// Names the program progname, or the object's first one when progname is empty; when there
// is no such program, why->programs lists the ones there are.
static struct bpf_program *find_program(struct bpf_object *obj, const char *progname, struct program_failure *why)
{
	why->stage = STAGE_FIND_PROGRAM;
	struct bpf_program *prog = progname && *progname ? bpf_object__find_program_by_name(obj, progname)
							 : bpf_object__next_program(obj, NULL);
	if (prog) {
		why->program = bpf_program__name(prog);
		return prog;
	}
	struct bpf_program *each;
	bpf_object__for_each_program(each, obj) why->programs.push_back(bpf_program__name(each));
	return NULL;
}

// Given to libbpf for the program's load: libbpf then leaves the verifier's log to us instead of
// printing it inside its own wording. Loads happen one at a time, on Node's main thread.
static char verifier_log[1 << 20];

// Loads (the verifier) and attaches. A program without a descriptor afterwards never got
// through the load: the kernel refused it (or the maps it needs); else the attach failed.
static int load_and_attach(struct xdp_program *prog, struct bpf_program *bpf_prog, int ifindex, uint32_t xdp_flags,
			   struct program_failure *why)
{
	verifier_log[0] = '\0';
	bpf_program__set_log_buf(bpf_prog, verifier_log, sizeof(verifier_log));
	int err = xdp_program__attach(prog, ifindex, mode_of(xdp_flags), 0);
	if (!err)
		return 0;
	why->stage = xdp_program__fd(prog) < 0 ? STAGE_LOAD_PROGRAM : STAGE_ATTACH_PROGRAM;
	if (why->stage == STAGE_LOAD_PROGRAM)
		why->verifier_log = verifier_log;
	return err < 0 ? err : -err;
}

// Everything after opening the object; on failure the caller closes what is left.
static int load_from(struct bpf_object *obj, const char *progname, int ifindex, uint32_t xdp_flags,
		     struct loaded_program *out, struct program_failure *why)
{
	struct bpf_program *bpf_prog = find_program(obj, progname, why);
	if (!bpf_prog)
		return -ENOENT;
	why->stage = STAGE_FIND_XSKS_MAP;
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "xsks_map");
	if (!map || bpf_map__type(map) != BPF_MAP_TYPE_XSKMAP)
		return -ENOENT;
	why->stage = STAGE_OPEN_OBJECT; // libxdp's own handle on the program we found
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = obj, .prog_name = bpf_program__name(bpf_prog));
	out->prog = xdp_program__create(&opts);
	long created = libxdp_get_error(out->prog);
	if (created) {
		out->prog = NULL;
		return (int)(created < 0 ? created : -created);
	}
	int err = load_and_attach(out->prog, bpf_prog, ifindex, xdp_flags, why);
	if (err)
		return err;
	why->stage = STAGE_MAP_FAIR_QUEUES;
	err = map_fair_queues(out->prog, out);
	if (err)
		return err;
	out->xsks_map_fd = bpf_map__fd(map);
	struct bpf_map *lanes = bpf_object__find_map_by_name(obj, "xsks_lane");
	out->xsks_lane_fd = lanes && bpf_map__type(lanes) == BPF_MAP_TYPE_XSKMAP ? bpf_map__fd(lanes) : -1;
	out->id = xdp_program__id(out->prog);
	out->name = xdp_program__name(out->prog);
	return 0;
}

int program_load(const char *filename, const char *progname, int ifindex, uint32_t xdp_flags,
		 struct loaded_program *out, struct program_failure *why)
{
	*out = {};
	why->stage = STAGE_OPEN_OBJECT;
	struct bpf_object *obj = bpf_object__open_file(filename, NULL);
	long opened = libbpf_get_error(obj);
	if (opened)
		return (int)(opened < 0 ? opened : -opened);
	out->obj = obj;
	int err = load_from(obj, progname, ifindex, xdp_flags, out, why);
	if (err)
		program_close(out);
	return err;
}

void program_close(struct loaded_program *lp)
{
	if (lp->fair_queues)
		munmap(lp->fair_queues, lp->fair_map_len);
	lp->fair_queues = NULL;
	if (lp->prog)
		xdp_program__close(lp->prog);
	lp->prog = NULL;
	// Opened by us, not by libxdp: libxdp leaves it open.
	if (lp->obj)
		bpf_object__close(lp->obj);
	lp->obj = NULL;
}
