// The paced sender: see tx.h.
#include "tx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include "gen.h"
#include "gen_stamp.h"

constexpr uint32_t TX_FRAMES = 4096;
constexpr uint32_t TX_FRAME_SIZE = 2048;
constexpr uint32_t TX_RING = 2048;
// One copy-mode kick's worth (the kernel's default TX budget a sendto()),
// well inside the receiving veth's 256-frame ring.
constexpr uint32_t TX_BURST = 32;

struct gen_tx {
	struct xsk_ring_prod fill; // unused: no RX, but a UMEM has one
	struct xsk_ring_cons comp;
	struct xsk_ring_prod tx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	uint8_t *area;
	uint64_t free_frames[TX_FRAMES];
	uint32_t free_count;
	uint32_t len;
	int icmp;      // where the ICMP message starts in a frame
	uint16_t csum; // the prepared request's checksum, as it lies in memory
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void reap(struct gen_tx *t)
{
	uint32_t idx, n = xsk_ring_cons__peek(&t->comp, TX_RING, &idx);
	for (uint32_t i = 0; i < n; i++)
		t->free_frames[t->free_count++] = *xsk_ring_cons__comp_addr(&t->comp, idx + i);
	xsk_ring_cons__release(&t->comp, n);
}

// Copy mode transmits only inside sendto(); EAGAIN/EBUSY mean the kernel is
// busy, and the frames stay queued for the next kick.
static void kick(struct gen_tx *t)
{
	if (!xsk_ring_prod__needs_wakeup(&t->tx))
		return;
	for (int tries = 0; tries < 4; tries++) {
		if (sendto(xsk_socket__fd(t->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno != EAGAIN && errno != EINTR)
			return;
	}
}

static uint32_t send_burst(struct gen_tx *t, uint32_t n)
{
	uint32_t idx;
	reap(t);
	if (n > t->free_count)
		n = t->free_count;
	n = xsk_prod_nb_free(&t->tx, n) < n ? xsk_prod_nb_free(&t->tx, n) : n;
	if (n == 0 || xsk_ring_prod__reserve(&t->tx, n, &idx) != n) {
		kick(t); // what is queued must go before room comes back
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = t->free_frames[--t->free_count];
		gen_stamp(t->area + addr + t->icmp, t->csum, now_ns());
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&t->tx, idx + i);
		d->addr = addr;
		d->len = t->len;
	}
	xsk_ring_prod__submit(&t->tx, n);
	kick(t);
	return n;
}

void gen_tx_paced(struct gen_tx *t, double rate, uint64_t duration_ns, uint64_t max_lag, struct gen_pace *out)
{
	uint64_t sent = 0, skipped = 0, t0 = now_ns();
	memset(out, 0, sizeof(*out));
	for (uint64_t now = t0; now - t0 < duration_ns; now = now_ns()) {
		// What the schedule wants sent by now, less what it gave up after earlier stalls.
		uint64_t due = (uint64_t)((double)(now - t0) * rate / 1e9) - skipped;
		if (due > sent) {
			uint64_t lag = due - sent;
			if (lag > out->worst_lag)
				out->worst_lag = lag;
			if (max_lag && lag > max_lag) {
				// Held off the CPU: what fell due meanwhile is given up, not sent at line rate.
				skipped += lag - max_lag;
				out->stalls++;
				lag = max_lag;
			}
			sent += send_burst(t, lag < TX_BURST ? (uint32_t)lag : TX_BURST);
			continue;
		}
		// A millisecond away or more: sleep until then. Closer, keep the CPU and keep time.
		uint64_t next = t0 + (uint64_t)((double)(sent + skipped + 1) * 1e9 / rate);
		if (next >= now + 1000000) {
			struct timespec ts = { (time_t)(next / 1000000000u), (long)(next % 1000000000u) };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
	}
	out->sent = sent;
	out->skipped = skipped;
}

static int umem_and_socket(struct gen_tx *t, const char *ifname, uint32_t queue, const char **err_step)
{
	struct xsk_umem_config ucfg = { TX_RING, TX_RING, TX_FRAME_SIZE, 0, 0 };
	*err_step = "create the generator's UMEM";
	int err = xsk_umem__create(&t->umem, t->area, (uint64_t)TX_FRAMES * TX_FRAME_SIZE, &t->fill, &t->comp, &ucfg);
	if (err) {
		t->umem = NULL;
		return err;
	}
	struct xsk_socket_config scfg;
	memset(&scfg, 0, sizeof(scfg));
	scfg.tx_size = TX_RING;
	scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD; // TX only: no program needed
	scfg.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
	*err_step = "create the generator's AF_XDP socket";
	err = xsk_socket__create(&t->xsk, ifname, queue, t->umem, NULL, &t->tx, &scfg);
	if (err)
		t->xsk = NULL;
	return err;
}

int gen_tx_open(const char *ifname, uint32_t queue, const uint8_t *frame, size_t len, struct gen_tx **out,
		const char **err_step)
{
	*err_step = "lay out the generator's frames";
	if (len > TX_FRAME_SIZE)
		return -EINVAL;
	struct gen_tx *t = (struct gen_tx *)calloc(1, sizeof(*t)); // zeroed: libxdp reads the rings first
	if (!t)
		return -ENOMEM;
	size_t size = (size_t)TX_FRAMES * TX_FRAME_SIZE;
	t->area = (uint8_t *)mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->area == MAP_FAILED) {
		int err = -errno;
		free(t);
		return err;
	}
	memcpy(t->area, frame, len);
	t->icmp = gen_stamp_prepare(t->area, len);
	if (t->icmp < 0) {
		gen_tx_close(t);
		return -EINVAL;
	}
	memcpy(&t->csum, t->area + t->icmp + GEN_ICMP_CSUM_AT, 2);
	t->len = (uint32_t)len;
	for (uint32_t i = 0; i < TX_FRAMES; i++) {
		if (i)
			memcpy(t->area + (size_t)i * TX_FRAME_SIZE, t->area, len);
		t->free_frames[t->free_count++] = (uint64_t)(TX_FRAMES - 1 - i) * TX_FRAME_SIZE;
	}
	int err = umem_and_socket(t, ifname, queue, err_step);
	if (err) {
		gen_tx_close(t);
		return err;
	}
	*out = t;
	return 0;
}

void gen_tx_close(struct gen_tx *t)
{
	if (t->xsk)
		xsk_socket__delete(t->xsk);
	if (t->umem)
		xsk_umem__delete(t->umem);
	if (t->area && t->area != MAP_FAILED)
		munmap(t->area, (size_t)TX_FRAMES * TX_FRAME_SIZE);
	free(t);
}
