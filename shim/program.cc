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

int program_load(const char *filename, const char *progname, int ifindex, uint32_t xdp_flags,
		 struct loaded_program *out, const char **why)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .opts = &open_opts, .prog_name = progname && *progname ? progname : NULL,
			    .open_filename = filename);
	*why = "open the object";
	struct xdp_program *prog = xdp_program__create(&opts);
	long err = libxdp_get_error(prog);
	if (err)
		return (int)(err < 0 ? err : -err);
	*why = "find xsks_map";
	struct bpf_map *map = bpf_object__find_map_by_name(xdp_program__bpf_obj(prog), "xsks_map");
	if (!map || bpf_map__type(map) != BPF_MAP_TYPE_XSKMAP) {
		xdp_program__close(prog);
		return -ENOENT;
	}
	*why = "load and attach the program";
	int e = xdp_program__attach(prog, ifindex, mode_of(xdp_flags), 0);
	if (e) {
		xdp_program__close(prog);
		return e < 0 ? e : -e;
	}
	*why = "map fair_queues";
	e = map_fair_queues(prog, out);
	if (e) {
		xdp_program__close(prog);
		return e;
	}
	out->prog = prog;
	out->xsks_map_fd = bpf_map__fd(map);
	out->id = xdp_program__id(prog);
	out->name = xdp_program__name(prog);
	return 0;
}

void program_close(struct loaded_program *lp)
{
	if (lp->fair_queues)
		munmap(lp->fair_queues, lp->fair_map_len);
	lp->fair_queues = NULL;
	if (lp->prog)
		xdp_program__close(lp->prog);
	lp->prog = NULL;
}
