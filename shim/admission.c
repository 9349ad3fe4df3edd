// The admission controller: see admission.h.
#include "admission.h"

#include <string.h>

void admission_init(struct admission *a, uint32_t target_us, uint32_t capacity, uint32_t batch, uint64_t now_ns)
{
	memset(a, 0, sizeof(*a));
	a->target_us = target_us;
	a->capacity = capacity;
	a->batch = batch;
	a->tick_ns = now_ns;
	a->min_backlog = UINT32_MAX;
}

static uint32_t clamp_quantum(double q)
{
	if (q < ADMISSION_MIN_QUANTUM)
		return ADMISSION_MIN_QUANTUM;
	return q > ADMISSION_MAX_QUANTUM ? ADMISSION_MAX_QUANTUM : (uint32_t)q;
}

// Packets the port serves in one window: the quantum one flow alone would need.
static double per_window(const struct admission *a)
{
	return a->service_pps * ADMISSION_WINDOW_US / 1e6;
}

// The service rate is learnt only from ticks in which every batch was full
// (each left at least a batch behind): then the port was busy all along and
// what it took is what it can do. A few packets left behind a batch show only
// that they arrived while it ran: learnt from such ticks, the rate was the
// arrival rate (0.27 M/s at a paced 0.30), and the queue looked overloaded.
static void learn_rate(struct admission *a, uint64_t dt_ns)
{
	if (a->min_backlog < a->batch)
		return;
	double pps = (double)a->taken * 1e9 / (double)dt_ns;
	a->service_pps = a->service_pps > 0 ? a->service_pps + (pps - a->service_pps) / 8 : pps;
}

// Zero while the service rate is unknown: a delay we cannot measure never congests the queue.
static uint32_t estimate_delay_us(const struct admission *a)
{
	if (a->min_backlog == 0 || a->min_backlog == UINT32_MAX || a->service_pps <= 0)
		return 0;
	double us = a->min_backlog * 1e6 / a->service_pps;
	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void track_above(struct admission *a, bool above, uint64_t now_ns)
{
	if (!above) {
		a->above_since_ns = 0;
		a->above_peak = 0;
		return;
	}
	if (!a->above_since_ns)
		a->above_since_ns = now_ns;
	if (a->min_backlog > a->above_peak)
		a->above_peak = a->min_backlog;
}

// The load over the last whole window: what arrived (taken, dropped by the
// XDP program, and the backlog's growth) against the rate the port serves.
static void measure_load(struct admission *a, uint64_t now_ns, uint64_t drops)
{
	a->load_taken += a->taken;
	if (a->load_since_ns && now_ns - a->load_since_ns < ADMISSION_LOAD_WINDOW_NS)
		return;
	if (a->load_since_ns) {
		double arrived = (double)a->load_taken + (double)(drops - a->load_drops) +
				 ((double)a->backlog - (double)a->load_backlog);
		double pps = arrived * 1e9 / (double)(now_ns - a->load_since_ns);
		a->overloaded = a->service_pps > 0 && pps >= ADMISSION_OVERLOAD_SHARE * a->service_pps;
	}
	a->load_since_ns = now_ns;
	a->load_taken = 0;
	a->load_drops = drops;
	a->load_backlog = a->backlog;
}

// A backlog above the target is cut only when it would not drain by itself:
// the load is at what the port serves, or the backlog filled three quarters
// of what the queue holds (one more such burst and the kernel would drop
// from every flow alike). Below that load a standing backlog is bursts the
// buffer holds: a paced load at 80% whose sender stalled and caught up every
// 50 ms kept 5-10 ms queued, and cutting it lost 1.3% where no admission
// control lost nothing.
static uint32_t at_risk(const struct admission *a)
{
	return a->capacity / 4 * 3;
}

static bool worth_cutting(const struct admission *a, uint64_t now_ns)
{
	if (a->congested)
		return a->overloaded || a->min_backlog >= at_risk(a);
	return now_ns - a->above_since_ns >= ADMISSION_PERSIST_NS && (a->overloaded || a->above_peak >= at_risk(a));
}

// Above target: congested, and the quantum is cut in proportion to the
// overshoot (at most halved), from no more than what the port serves per
// window; then no more cuts for as long as the backlog then seen takes to
// serve, since a cut shows on the ring only after it. Cutting every tick for
// the same backlog, as after a stall of the port, starved it afterwards.
// Below it while still dropping: the quantum grows by 1/32 of that a tick, up
// to 5/4 of it (one flow alone cannot use more); but when the ring ran dry in
// the tick the port had room to spare, whatever the rate it was thought to
// serve, so the quantum grows by a quarter, with no cap. Congestion ends below
// the target once the load is under what the port serves, else after a calm spell.
static void control(struct admission *a, uint64_t now_ns, uint64_t dt_ns, uint64_t drops, bool ran_dry)
{
	bool dropping = drops != a->drops_seen;
	double full = per_window(a);
	a->drops_seen = drops;
	bool above = a->delay_us > a->target_us;
	track_above(a, above, now_ns);
	if (above && worth_cutting(a, now_ns)) {
		a->calm_since_ns = 0;
		if (a->congested && now_ns < a->hold_until_ns)
			return;
		double from = a->congested && a->quantum < full ? a->quantum : full;
		double cut = (double)a->target_us / a->delay_us;
		a->quantum = clamp_quantum(from * (cut < 0.5 ? 0.5 : cut));
		a->congested = true;
		a->hold_until_ns = now_ns + (uint64_t)a->delay_us * 1000u;
		return;
	}
	if (!a->congested)
		return;
	if (!above && !a->overloaded) { // what stands drains by itself
		a->congested = false;
		return;
	}
	if (dropping && ran_dry) {
		a->calm_since_ns = 0;
		a->quantum = clamp_quantum(a->quantum * 1.25 + 1);
		return;
	}
	if (dropping) {
		double q = a->quantum + (full / 32 > 1 ? full / 32 : 1), cap = full * 5 / 4;
		a->calm_since_ns = 0;
		if (q > cap) // below the target a quantum is never lowered, only held
			q = a->quantum > cap ? a->quantum : cap;
		a->quantum = clamp_quantum(q);
		return;
	}
	if (!a->calm_since_ns)
		a->calm_since_ns = now_ns - dt_ns;
	if (now_ns - a->calm_since_ns >= ADMISSION_CLEAR_NS)
		a->congested = false;
}

void admission_note_sleep(struct admission *a)
{
	a->min_backlog = 0; // the least it can be: it stays so until the tick ends
}

bool admission_step(struct admission *a, uint64_t now_ns, uint32_t taken, uint32_t backlog, uint64_t drops)
{
	a->taken += taken;
	a->backlog = backlog;
	if (backlog < a->min_backlog)
		a->min_backlog = backlog;
	uint64_t dt = now_ns - a->tick_ns;
	if (dt < ADMISSION_TICK_NS)
		return false;
	bool was_congested = a->congested;
	uint32_t was_quantum = a->quantum;
	learn_rate(a, dt);
	a->delay_us = estimate_delay_us(a);
	measure_load(a, now_ns, drops);
	control(a, now_ns, dt, drops, a->min_backlog == 0);
	a->tick_ns = now_ns;
	a->taken = 0;
	a->min_backlog = UINT32_MAX;
	return a->congested != was_congested || (a->congested && a->quantum != was_quantum);
}
