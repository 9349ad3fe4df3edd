// A live AF_XDP echo responder in C: the echo handler's logic (echo_logic.h)
// behind one AF_XDP socket made with libxdp's xsk API and its default XSK
// program, for npm run bench -- --latency to put afxdp-wasm next to native
// code on the same rings. Echo requests (ICMPv6, ICMP) are answered in place
// from the frame they came in; everything else is dropped. Requests to a
// group address are dropped too: it knows none of the interface's addresses.
//
//   xsk_echo -d IFNAME [-Q QUEUE] [-p] [--frames N] [--frame-size 2048|4096] [--ring-size N] [--batch N] [-v]
//
// SIGINT or SIGTERM: one JSON line of counters on stdout, exit 0.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "echo_logic.h"

#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 // linux/if_xdp.h since 6.17; older headers lack it
#endif

#define USAGE                                                                                                          \
	"usage: xsk_echo -d IFNAME [-Q QUEUE] [-p] [--frames N] [--frame-size 2048|4096] [--ring-size N] [--batch N] " \
	"[-v]"
#define MAX_BATCH 2048

struct options {
	const char *ifname;
	uint32_t queue, frames, frame_size, ring_size, batch;
	int poll_mode;
};

struct counters {
	uint64_t rx, tx, dropped, tx_ring_full, batches, kicks, wakeups;
};

struct responder {
	struct options o;
	void *buf;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint64_t *free_frames;
	uint32_t free_count;
	struct counters c;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("xsk_echo: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

// libxdp's and libbpf's chatter (why the dispatcher did not load, ...) only with -v: a failure
// gets our own line.
static int verbose;

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list args)
{
	return verbose && level != LIBXDP_DEBUG ? vfprintf(stderr, fmt, args) : 0;
}

static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return verbose && level != LIBBPF_DEBUG ? vfprintf(stderr, fmt, args) : 0;
}

static uint32_t number(const char *name, const char *text, uint32_t min, uint32_t max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || *end || end == text || v < min || v > max)
		fail("%s must be a whole number from %u to %u, not '%s'; " USAGE, name, min, max, text);
	return (uint32_t)v;
}

static struct options parse(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "queue", required_argument, NULL, 'Q' },
		{ "poll-mode", no_argument, NULL, 'p' },
		{ "frames", required_argument, NULL, 'f' },
		{ "frame-size", required_argument, NULL, 's' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct options o = { .frames = 16384, .frame_size = 2048, .ring_size = 16384, .batch = 256 };
	opterr = 0; // one line of our own instead of getopt's
	for (int c; (c = getopt_long(argc, argv, "d:Q:pvh", longs, NULL)) != -1;) {
		switch (c) {
		case 'd':
			o.ifname = optarg;
			break;
		case 'Q':
			o.queue = number("-Q", optarg, 0, 1023);
			break;
		case 'p':
			o.poll_mode = 1;
			break;
		case 'f':
			o.frames = number("--frames", optarg, 64, 1u << 20);
			break;
		case 's':
			o.frame_size = number("--frame-size", optarg, 2048, 4096);
			break;
		case 'r':
			o.ring_size = number("--ring-size", optarg, 64, 65536);
			break;
		case 'b':
			o.batch = number("--batch", optarg, 1, MAX_BATCH);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			puts(USAGE);
			exit(0);
		default:
			fail("unknown option or missing value in '%s'; " USAGE, argv[optind - 1]);
		}
	}
	if (optind < argc)
		fail("unexpected argument '%s'; " USAGE, argv[optind]);
	if (!o.ifname)
		fail("-d IFNAME is needed, e.g. -d veth-adv03; " USAGE);
	if (o.frame_size != 2048 && o.frame_size != 4096)
		fail("--frame-size must be 2048 or 4096 (AF_XDP needs a power of two the page holds), not %u",
		     o.frame_size);
	if (o.ring_size & (o.ring_size - 1))
		fail("--ring-size must be a power of two, not %u", o.ring_size);
	return o;
}

static void free_frame(struct responder *r, uint64_t addr)
{
	r->free_frames[r->free_count++] = addr & ~(uint64_t)(r->o.frame_size - 1);
}

static void open_socket(struct responder *r)
{
	struct options *o = &r->o;
	if (!if_nametoindex(o->ifname))
		fail("no interface '%s' (ip link lists them); -d takes an interface name", o->ifname);
	size_t size = (size_t)o->frames * o->frame_size;
	r->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	r->free_frames = calloc(o->frames, sizeof(*r->free_frames));
	if (r->buf == MAP_FAILED || !r->free_frames)
		fail("cannot allocate a UMEM of %u frames of %u B: %s; ask for fewer --frames", o->frames,
		     o->frame_size, strerror(errno));
	struct xsk_umem_config ucfg = {
		.fill_size = o->ring_size,
		.comp_size = o->ring_size,
		.frame_size = o->frame_size,
		.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM,
	};
	int err = xsk_umem__create(&r->umem, r->buf, size, &r->fill, &r->comp, &ucfg);
	if (err)
		fail("cannot register the UMEM (%u frames of %u B, rings %u): %s", o->frames, o->frame_size,
		     o->ring_size, strerror(-err));
	struct xsk_socket_config scfg = {
		.rx_size = o->ring_size,
		.tx_size = o->ring_size,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	err = xsk_socket__create(&r->xsk, o->ifname, o->queue, r->umem, &r->rx, &r->tx, &scfg);
	if (err)
		fail("cannot bind an AF_XDP socket to %s queue %u: %s; is another XDP program or socket on it "
		     "(xdp-loader status %s), or has it fewer queues (ethtool -l %s)?",
		     o->ifname, o->queue, strerror(-err), o->ifname, o->ifname);
	// One kick may send a whole batch (kernels >= 6.17); older ones refuse it and send 32 a kick.
	int budget = o->batch < 32 ? 32 : o->batch > o->ring_size ? (int)o->ring_size : (int)o->batch;
	setsockopt(xsk_socket__fd(r->xsk), SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget));
	for (uint32_t i = 0; i < o->frames; i++)
		free_frame(r, (uint64_t)i * o->frame_size);
}

// Hand free frames to the kernel for RX, as many as FILL has room for.
static void refill(struct responder *r)
{
	uint32_t idx, want = xsk_prod_nb_free(&r->fill, r->free_count);
	if (want > r->free_count)
		want = r->free_count;
	if (!want || xsk_ring_prod__reserve(&r->fill, want, &idx) != want)
		return;
	for (uint32_t i = 0; i < want; i++)
		*xsk_ring_prod__fill_addr(&r->fill, idx + i) = r->free_frames[--r->free_count];
	xsk_ring_prod__submit(&r->fill, want);
}

static uint32_t reap_completions(struct responder *r)
{
	uint32_t idx, n = xsk_ring_cons__peek(&r->comp, r->o.ring_size, &idx);
	for (uint32_t i = 0; i < n; i++)
		free_frame(r, *xsk_ring_cons__comp_addr(&r->comp, idx + i));
	xsk_ring_cons__release(&r->comp, n);
	return n;
}

// In copy mode a sendto() transmits up to its budget and answers EAGAIN while more wait.
static void kick_tx(struct responder *r)
{
	if (!xsk_ring_prod__needs_wakeup(&r->tx))
		return;
	for (int tries = 0; tries < 8; tries++) {
		r->c.kicks++;
		if (sendto(xsk_socket__fd(r->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 ||
		    (errno != EAGAIN && errno != EINTR))
			return;
	}
}

// Answers one RX batch in place; returns how many packets it took.
static uint32_t answer_batch(struct responder *r)
{
	static uint64_t addrs[MAX_BATCH];
	static uint32_t lens[MAX_BATCH];
	uint32_t idx, replies = 0, n = xsk_ring_cons__peek(&r->rx, r->o.batch, &idx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&r->rx, idx + i);
		int len = echo_answer(xsk_umem__get_data(r->buf, d->addr), d->len, NULL);
		if (len > 0) {
			addrs[replies] = d->addr;
			lens[replies++] = (uint32_t)len;
		} else {
			free_frame(r, d->addr);
			r->c.dropped++;
		}
	}
	xsk_ring_cons__release(&r->rx, n);
	uint32_t room = replies ? xsk_prod_nb_free(&r->tx, replies) : 0;
	if (room > replies)
		room = replies;
	if (room && xsk_ring_prod__reserve(&r->tx, room, &idx) != room)
		room = 0;
	for (uint32_t i = 0; i < replies; i++) {
		if (i < room) {
			*xsk_ring_prod__tx_desc(&r->tx, idx + i) =
				(struct xdp_desc){ .addr = addrs[i], .len = lens[i] };
			continue;
		}
		free_frame(r, addrs[i]);
		r->c.tx_ring_full++;
	}
	xsk_ring_prod__submit(&r->tx, room);
	r->c.rx += n;
	r->c.tx += room;
	r->c.batches++;
	return n;
}

static void serve(struct responder *r)
{
	struct pollfd pfd = { .fd = xsk_socket__fd(r->xsk), .events = POLLIN };
	uint64_t in_flight = 0; // frames on TX not yet completed
	while (!stopping) {
		in_flight -= reap_completions(r);
		refill(r);
		uint64_t tx0 = r->c.tx;
		if (answer_batch(r)) {
			in_flight += r->c.tx - tx0;
			kick_tx(r);
			continue;
		}
		if (in_flight)
			kick_tx(r); // frames a kick left behind (EBUSY, ENOBUFS)
		if (r->o.poll_mode) {
			r->c.wakeups += poll(&pfd, 1, in_flight ? 1 : 1000) > 0;
		} else if (xsk_ring_prod__needs_wakeup(&r->fill)) {
			recvfrom(pfd.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		}
	}
}

static void print_counters(const struct responder *r)
{
	struct xdp_statistics s = { 0 };
	socklen_t len = sizeof(s);
	int have = !getsockopt(xsk_socket__fd(r->xsk), SOL_XDP, XDP_STATISTICS, &s, &len);
	printf("{\"type\":\"exit\",\"rxPackets\":%" PRIu64 ",\"txPackets\":%" PRIu64 ",\"dropped\":%" PRIu64
	       ",\"txRingFull\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"kicks\":%" PRIu64 ",\"wakeups\":%" PRIu64,
	       r->c.rx, r->c.tx, r->c.dropped, r->c.tx_ring_full, r->c.batches, r->c.kicks, r->c.wakeups);
	if (have)
		printf(",\"xdp\":{\"rx_dropped\":%llu,\"rx_invalid_descs\":%llu,\"tx_invalid_descs\":%llu,\"rx_ring_"
		       "full\":%llu,"
		       "\"rx_fill_ring_empty_descs\":%llu,\"tx_ring_empty_descs\":%llu}}\n",
		       s.rx_dropped, s.rx_invalid_descs, s.tx_invalid_descs, s.rx_ring_full, s.rx_fill_ring_empty_descs,
		       s.tx_ring_empty_descs);
	else
		printf(",\"xdp\":null}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct responder r = { .o = parse(argc, argv) };
	struct sigaction sa = { .sa_handler = on_signal }; // no SA_RESTART: a signal ends poll()
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	libxdp_set_print(xdp_print);
	libbpf_set_print(bpf_print);
	open_socket(&r);
	fprintf(stderr, "Serving %s queue %u (%s; %u frames of %u B, rings %u, batch %u). Ctrl-C stops.\n", r.o.ifname,
		r.o.queue, r.o.poll_mode ? "poll" : "spin", r.o.frames, r.o.frame_size, r.o.ring_size, r.o.batch);
	serve(&r);
	print_counters(&r);
	// The last socket of the interface closing detaches libxdp's program.
	xsk_socket__delete(r.xsk);
	xsk_umem__delete(r.umem);
	return 0;
}
