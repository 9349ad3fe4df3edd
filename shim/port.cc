// The AF_XDP port: see port.h for who owns a frame when.
#include "port.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// The UMEM is made with no frame headroom of its own: a packet then starts the kernel's
// XDP_PACKET_HEADROOM into its frame, where the contract says it does.
static_assert(XDP_PACKET_HEADROOM == AFXDP_XDP_HEADROOM, "the contract's headroom is the kernel's");

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 // linux/if_xdp.h since 6.17; Debian 12's headers predate it
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

struct port {
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_cons lane; // the sparse lane's RX ring, while lane_xsk is open
	struct xsk_socket *lane_xsk;
	struct port_config cfg;
	char ifname[IF_NAMESIZE]; // for the lane, opened later
	uint8_t *umem_area;

	uint64_t *free_frames; // stack of UMEM addresses (frame starts)
	uint32_t free_count;
	uint32_t *batch_frames; // frame start (UMEM address) of each descriptor handed out
	uint32_t batch_count;
	uint32_t tx_outstanding; // submitted to TX, not yet completed
	uint32_t rx_outstanding; // submitted to FILL, not yet received

	struct afxdp_desc *batch;
	volatile uint64_t *counters;

	uint64_t last_wait_ns, last_wait_rx; // for the arrival rate seen between waits
	double arrival_pps;

	struct fair_queue *fair; // this queue's admission control block, or NULL
	struct admission admission;
};

static void admission_after_rx(struct port *p, uint32_t taken);
static void publish_admission(struct port *p);

static inline void count(struct port *p, enum afxdp_counter c, uint64_t n)
{
	p->counters[c] += n;
}

// The batch size histogram's bucket for a batch of n (1..MAX_BATCH) packets: the
// smallest power of two >= n. It costs one increment per batch.
static_assert(AFXDP_COUNTER_BATCH_UP_TO2048 - AFXDP_COUNTER_BATCH_UP_TO1 == 11 && AFXDP_MAX_BATCH == 2048,
	      "one bucket counter per power of two up to MAX_BATCH");
static inline enum afxdp_counter batch_bucket(uint32_t n)
{
	return (enum afxdp_counter)(AFXDP_COUNTER_BATCH_UP_TO1 + (n <= 1 ? 0 : 32 - __builtin_clz(n - 1)));
}

static void publish_frames(struct port *p)
{
	p->counters[AFXDP_COUNTER_FRAMES_FREE] = p->free_count;
	p->counters[AFXDP_COUNTER_FRAMES_RX_KERNEL] = p->rx_outstanding;
	p->counters[AFXDP_COUNTER_FRAMES_BATCH] = p->batch_count;
	p->counters[AFXDP_COUNTER_FRAMES_TX_KERNEL] = p->tx_outstanding;
}

static inline void free_frame(struct port *p, uint64_t addr)
{
	p->free_frames[p->free_count++] = addr;
}

// Hand free frames to the kernel for RX, as many as FILL takes.
static void refill(struct port *p)
{
	uint32_t want = p->free_count, idx;
	if (want == 0)
		return;
	// reserve() is all-or-nothing: ask only for the room there is.
	uint32_t room = xsk_prod_nb_free(&p->fill, want);
	uint32_t got = xsk_ring_prod__reserve(&p->fill, want < room ? want : room, &idx);
	for (uint32_t i = 0; i < got; i++)
		*xsk_ring_prod__fill_addr(&p->fill, idx + i) = p->free_frames[--p->free_count];
	xsk_ring_prod__submit(&p->fill, got);
	p->rx_outstanding += got;
	if (got && xsk_ring_prod__needs_wakeup(&p->fill))
		recvfrom(xsk_socket__fd(p->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

static void reap_completions(struct port *p)
{
	uint32_t idx, n = xsk_ring_cons__peek(&p->comp, p->cfg.ring_size, &idx);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = *xsk_ring_cons__comp_addr(&p->comp, idx + i);
		free_frame(p, xsk_umem__extract_addr(addr) & ~(uint64_t)(p->cfg.frame_size - 1));
	}
	xsk_ring_cons__release(&p->comp, n);
	p->tx_outstanding -= n;
}

// In copy mode one sendto() transmits at most its budget (32, or the batch
// size where XDP_MAX_TX_SKB_BUDGET is taken) and answers EAGAIN while more
// wait, so keep kicking until the ring is drained or it stops moving.
static void kick_tx(struct port *p, uint32_t submitted)
{
	if (!submitted && !(p->tx_outstanding && xsk_ring_prod__needs_wakeup(&p->tx)))
		return;
	int fd = xsk_socket__fd(p->xsk);
	for (uint32_t tries = 0; tries < 4 + p->tx_outstanding / 16; tries++) {
		count(p, AFXDP_COUNTER_KICKS, 1);
		if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno != EAGAIN && errno != EINTR) {
			// EBUSY/ENOBUFS: the kernel is busy; the frames stay queued for the next kick.
			if (errno != EBUSY && errno != ENOBUFS)
				count(p, AFXDP_COUNTER_KICK_ERRORS, 1);
			return;
		}
	}
}

// A TX verdict is honoured only when the packet lies wholly inside the
// frame it arrived in: a handler can never make us send another frame's bytes.
static bool tx_ok(const struct port *p, const struct afxdp_desc *d, uint64_t frame)
{
	uint64_t start = p->cfg.umem_offset + frame, end = start + p->cfg.frame_size;
	return d->len >= AFXDP_TX_MIN_LEN && d->addr >= start && (uint64_t)d->addr + d->len <= end;
}

static void settle_batch(struct port *p)
{
	uint32_t n = p->batch_count, want_tx = 0, idx = 0, sent = 0;
	if (n == 0)
		return;
	for (uint32_t i = 0; i < n; i++)
		want_tx += p->batch[i].verdict == AFXDP_VERDICT_TX && tx_ok(p, &p->batch[i], p->batch_frames[i]);
	uint32_t room = want_tx ? xsk_prod_nb_free(&p->tx, want_tx) : 0;
	if (room > want_tx)
		room = want_tx;
	room = room ? xsk_ring_prod__reserve(&p->tx, room, &idx) : 0;
	for (uint32_t i = 0; i < n; i++) {
		struct afxdp_desc *d = &p->batch[i];
		uint64_t frame = p->batch_frames[i];
		bool valid_tx = d->verdict == AFXDP_VERDICT_TX && tx_ok(p, d, frame);
		if (valid_tx && sent < room) {
			struct xdp_desc *t = xsk_ring_prod__tx_desc(&p->tx, idx + sent++);
			t->addr = d->addr - p->cfg.umem_offset;
			t->len = d->len;
			count(p, AFXDP_COUNTER_TX_PACKETS, 1);
			count(p, AFXDP_COUNTER_TX_BYTES, d->len);
			continue;
		}
		if (valid_tx)
			count(p, AFXDP_COUNTER_TX_RING_FULL, 1);
		else if (d->verdict == AFXDP_VERDICT_DROP)
			count(p, AFXDP_COUNTER_DROPPED, 1);
		else
			count(p, AFXDP_COUNTER_INVALID, 1);
		free_frame(p, frame);
	}
	xsk_ring_prod__submit(&p->tx, sent);
	p->tx_outstanding += sent;
	p->batch_count = 0;
	kick_tx(p, sent);
}

// Moves up to max RX descriptors from ring into the batch, from slot `at` on.
static uint32_t take_from(struct port *p, struct xsk_ring_cons *ring, uint32_t at, uint32_t max)
{
	uint32_t idx, n = max ? xsk_ring_cons__peek(ring, max, &idx) : 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *r = xsk_ring_cons__rx_desc(ring, idx + i);
		uint64_t addr = xsk_umem__extract_addr(r->addr);
		struct afxdp_desc *d = &p->batch[at + i];
		p->batch_frames[at + i] = addr & ~(uint64_t)(p->cfg.frame_size - 1);
		d->addr = p->cfg.umem_offset + xsk_umem__add_offset_to_addr(r->addr);
		d->len = r->len;
		d->verdict = AFXDP_VERDICT_DROP;
		d->queue = p->cfg.queue;
		count(p, AFXDP_COUNTER_RX_BYTES, r->len);
	}
	if (n)
		xsk_ring_cons__release(ring, n);
	return n;
}

// The sparse lane first (up to a quarter of the batch), then the main ring,
// then the lane again for whatever room is left.
static uint32_t take_rx(struct port *p)
{
	uint32_t max = p->cfg.batch_max, lane = 0, n;
	if (p->lane_xsk)
		lane = take_from(p, &p->lane, 0, max / 4 ? max / 4 : 1);
	n = lane + take_from(p, &p->rx, lane, max - lane);
	if (n == 0 && p->cfg.busy_poll_us) {
		// Busy polling: our own call runs the driver's NAPI, then look again.
		recvfrom(xsk_socket__fd(p->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
		n = take_from(p, &p->rx, 0, max);
	}
	if (p->lane_xsk) {
		uint32_t more = take_from(p, &p->lane, n, max - n);
		lane += more;
		n += more;
	}
	p->rx_outstanding -= n;
	p->batch_count = n;
	count(p, AFXDP_COUNTER_RX_PACKETS, n);
	if (n) {
		count(p, AFXDP_COUNTER_SPARSE_LANE_PACKETS, lane);
		count(p, AFXDP_COUNTER_BATCHES, 1);
		count(p, batch_bucket(n), 1);
	}
	return n;
}

uint32_t port_step(struct port *p)
{
	settle_batch(p);
	reap_completions(p);
	if (p->tx_outstanding)
		kick_tx(p, 0);
	refill(p);
	uint32_t n = take_rx(p);
	if (p->fair)
		admission_after_rx(p, n);
	publish_frames(p);
	return n;
}

uint32_t port_abort_batch(struct port *p)
{
	uint32_t n = p->batch_count;
	for (uint32_t i = 0; i < n; i++)
		free_frame(p, p->batch_frames[i]);
	count(p, AFXDP_COUNTER_DROPPED, n);
	p->batch_count = 0;
	publish_frames(p);
	return n;
}

void port_drain(struct port *p)
{
	if (p->fair)
		publish_admission(p);
	settle_batch(p);
	for (int i = 0; i < 3 && p->tx_outstanding; i++) {
		reap_completions(p);
		kick_tx(p, 0);
	}
	reap_completions(p);
	publish_frames(p);
}

void port_flush(struct port *p)
{
	settle_batch(p);
	reap_completions(p);
	refill(p);
	publish_frames(p);
}

void port_note_sleep(struct port *p)
{
	if (p->fair)
		admission_note_sleep(&p->admission);
}

// RX descriptors waiting on both rings, up to max.
static uint32_t rx_backlog(struct port *p, uint32_t max)
{
	uint32_t n = xsk_cons_nb_avail(&p->rx, max);
	return p->lane_xsk && n < max ? n + xsk_cons_nb_avail(&p->lane, max - n) : n;
}

uint32_t port_rx_waiting(struct port *p)
{
	return rx_backlog(p, p->cfg.batch_max);
}

uint32_t port_batch_max(const struct port *p)
{
	return p->cfg.batch_max;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool port_worth_napping(struct port *p, uint32_t coalesce_us)
{
	uint64_t now = now_ns(), rx = p->counters[AFXDP_COUNTER_RX_PACKETS];
	if (p->last_wait_ns) {
		// Smoothed over about a millisecond: after a longer quiet spell only the new rate counts.
		double dt = (double)(now - p->last_wait_ns + 1), pps = (double)(rx - p->last_wait_rx) * 1e9 / dt;
		p->arrival_pps += (pps - p->arrival_pps) * dt / (dt + 1e6);
	}
	p->last_wait_ns = now;
	p->last_wait_rx = rx;
	return p->arrival_pps * coalesce_us / 1e6 >= NAP_MIN_PACKETS;
}

void nap_us(uint32_t us)
{
	// The default 50 us timer slack would double a short nap: ask for 1 us on this thread.
	static thread_local bool slack_set;
	if (!slack_set) {
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
		slack_set = true;
	}
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

static void publish_admission(struct port *p)
{
	const struct admission *a = &p->admission;
	p->counters[AFXDP_COUNTER_ADMISSION_DROPPED] = p->fair->dropped;
	p->counters[AFXDP_COUNTER_ADMISSION_CONGESTED] = a->congested;
	p->counters[AFXDP_COUNTER_ADMISSION_QUANTUM] = a->congested ? a->quantum : 0;
	p->counters[AFXDP_COUNTER_ADMISSION_DELAY_US] = a->delay_us;
}

// The sparse lane's RX ring: no larger than the port's own.
static uint32_t lane_ring_size(const struct port *p)
{
	return p->cfg.ring_size < LANE_RING_SIZE ? p->cfg.ring_size : LANE_RING_SIZE;
}

// What the port's RX rings hold together: its own, and its lane's if it has one.
static uint32_t rx_rings_size(const struct port *p)
{
	return p->cfg.ring_size + (p->lane_xsk ? lane_ring_size(p) : 0);
}

// The control block is shared memory (an mmap of the map): plain stores, and
// only when the controller changed something.
static void admission_after_rx(struct port *p, uint32_t taken)
{
	uint32_t backlog = rx_backlog(p, rx_rings_size(p));
	if (admission_step(&p->admission, now_ns(), taken, backlog, p->fair->dropped)) {
		p->fair->quantum = p->admission.quantum; // first: congested never meets a stale quantum
		p->fair->congested = p->admission.congested;
	}
	publish_admission(p);
}

// A second socket on the port's queue and UMEM, with an RX ring only; it
// shares FILL and COMPLETION, so frame ownership is unchanged.
static int open_lane(struct port *p, int lane_map_fd)
{
	struct xsk_socket_config scfg;
	memset(&scfg, 0, sizeof(scfg));
	scfg.rx_size = lane_ring_size(p);
	scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
	scfg.bind_flags = p->cfg.bind_flags; // libxdp binds a shared socket with XDP_SHARED_UMEM instead
	int err = xsk_socket__create_shared(&p->lane_xsk, p->ifname, p->cfg.queue, p->umem, &p->lane, NULL, &p->fill,
					    &p->comp, &scfg);
	if (err) {
		p->lane_xsk = NULL;
		return err;
	}
	return xsk_socket__update_xskmap(p->lane_xsk, lane_map_fd);
}

int port_set_admission(struct port *p, struct fair_queue *queues, uint32_t count, uint32_t target_us, int lane_map_fd,
		       enum shim_stage *failed_at)
{
	*failed_at = STAGE_SET_ADMISSION;
	if (p->cfg.queue >= count)
		return -EINVAL;
	if (lane_map_fd >= 0 && !p->lane_xsk) {
		*failed_at = STAGE_OPEN_SPARSE_LANE;
		int err = open_lane(p, lane_map_fd);
		if (err) {
			*failed_at = p->lane_xsk ? STAGE_ENTER_XSKS_LANE : STAGE_OPEN_SPARSE_LANE;
			return err;
		}
	}
	p->fair = &queues[p->cfg.queue];
	p->fair->congested = 0;
	p->fair->window_us = ADMISSION_WINDOW_US;
	uint32_t rings = rx_rings_size(p);
	admission_init(&p->admission, target_us, p->cfg.frames < rings ? p->cfg.frames : rings, p->cfg.batch_max,
		       now_ns());
	publish_admission(p);
	return 0;
}

int port_fd(const struct port *p)
{
	return xsk_socket__fd(p->xsk);
}

int port_lane_fd(const struct port *p)
{
	return p->lane_xsk ? xsk_socket__fd(p->lane_xsk) : -1;
}

struct xsk_socket *port_socket(const struct port *p)
{
	return p->xsk;
}

static void port_free(struct port *p)
{
	if (p->lane_xsk)
		xsk_socket__delete(p->lane_xsk);
	if (p->xsk)
		xsk_socket__delete(p->xsk);
	if (p->umem)
		xsk_umem__delete(p->umem);
	free(p->free_frames);
	free(p->batch_frames);
	free(p);
}

void port_close(struct port *p)
{
	for (uint32_t i = 0; i < p->batch_count; i++)
		free_frame(p, p->batch_frames[i]);
	p->batch_count = 0;
	publish_frames(p);
	port_free(p);
}

static bool layout_ok(const struct port_config *cfg)
{
	uint64_t umem_end = cfg->umem_offset + (uint64_t)cfg->frames * cfg->frame_size;
	uint64_t batch_end = cfg->batch_offset + (uint64_t)cfg->batch_max * sizeof(struct afxdp_desc);
	return cfg->umem_offset % 4096 == 0 && umem_end <= cfg->memory_size && batch_end <= cfg->umem_offset &&
	       cfg->counters_offset + AFXDP_COUNTER_COUNT * 8 <= cfg->batch_offset && cfg->counters_offset % 8 == 0;
}

// The port's own memory; the areas it uses in the wasm memory are only pointed at.
static struct port *port_alloc(const struct port_config *cfg)
{
	// Zeroed: libxdp reads the ring structs before filling them in.
	struct port *p = (struct port *)calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->cfg.ifname = NULL; // not kept: the caller's string
	snprintf(p->ifname, sizeof(p->ifname), "%s", cfg->ifname);
	p->umem_area = cfg->memory + cfg->umem_offset;
	p->batch = (struct afxdp_desc *)(cfg->memory + cfg->batch_offset);
	p->counters = (volatile uint64_t *)(cfg->memory + cfg->counters_offset);
	p->free_frames = (uint64_t *)calloc(cfg->frames, sizeof(uint64_t));
	p->batch_frames = (uint32_t *)calloc(cfg->batch_max, sizeof(uint32_t));
	if (!p->free_frames || !p->batch_frames) {
		port_free(p);
		return NULL;
	}
	memset((void *)p->counters, 0, AFXDP_COUNTER_COUNT * sizeof(uint64_t));
	return p;
}

static int create_umem(struct port *p)
{
	struct xsk_umem_config ucfg = {
		.fill_size = p->cfg.ring_size,
		.comp_size = p->cfg.ring_size,
		.frame_size = p->cfg.frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	uint64_t size = (uint64_t)p->cfg.frames * p->cfg.frame_size;
	int err = xsk_umem__create(&p->umem, p->umem_area, size, &p->fill, &p->comp, &ucfg);
	if (err)
		p->umem = NULL;
	return err;
}

static int create_socket(struct port *p, const char *ifname)
{
	struct xsk_socket_config scfg;
	memset(&scfg, 0, sizeof(scfg));
	scfg.rx_size = p->cfg.ring_size;
	scfg.tx_size = p->cfg.ring_size;
	scfg.libxdp_flags = p->cfg.inhibit_prog_load ? XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD : 0;
	scfg.xdp_flags = p->cfg.xdp_flags;
	scfg.bind_flags = p->cfg.bind_flags;
	// Rebinding a queue just after a socket on it closed can answer EBUSY for a moment.
	int err;
	for (int tries = 0;; tries++) {
		err = xsk_socket__create(&p->xsk, ifname, p->cfg.queue, p->umem, &p->rx, &p->tx, &scfg);
		if (err != -EBUSY || tries >= 20)
			break;
		usleep(50 * 1000);
	}
	if (err)
		p->xsk = NULL;
	return err;
}

// One kick may send a whole batch (kernels >= 6.17; default 32 a sendto()): fewer syscalls
// per batch. Older kernels refuse it, and 32 a kick stays: so its failure is no failure.
static void set_tx_budget(struct port *p)
{
	uint32_t batch = p->cfg.batch_max, ring = p->cfg.ring_size;
	int budget = batch < 32 ? 32 : batch > ring ? ring : batch;
	setsockopt(xsk_socket__fd(p->xsk), SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget));
}

static int set_busy_poll(struct port *p)
{
	int one = 1, us = (int)p->cfg.busy_poll_us, budget = (int)p->cfg.batch_max;
	int fd = xsk_socket__fd(p->xsk);
	if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)))
		return -errno;
	return 0;
}

int port_open(const struct port_config *cfg, struct port **out, enum shim_stage *failed_at)
{
	*failed_at = STAGE_CHECK_LAYOUT;
	if (!layout_ok(cfg))
		return -EINVAL;
	*failed_at = STAGE_ALLOCATE;
	struct port *p = port_alloc(cfg);
	if (!p)
		return -ENOMEM;
	int err;
	*failed_at = STAGE_CREATE_UMEM;
	if ((err = create_umem(p)))
		goto fail;
	*failed_at = STAGE_CREATE_SOCKET;
	if ((err = create_socket(p, cfg->ifname)))
		goto fail;
	set_tx_budget(p);
	*failed_at = STAGE_SET_BUSY_POLL;
	if (cfg->busy_poll_us && (err = set_busy_poll(p)))
		goto fail;

	for (uint32_t i = 0; i < cfg->frames; i++)
		free_frame(p, (uint64_t)(cfg->frames - 1 - i) * cfg->frame_size);
	p->counters[AFXDP_COUNTER_FRAMES_TOTAL] = cfg->frames;
	refill(p);
	publish_frames(p);
	*out = p;
	return 0;
fail:
	port_free(p);
	return err;
}
