// A fluid model of one queue for the admission controller (shim/admission.c):
// a heavy flow offered at some rate, the XDP program's per-window quantum,
// the RX ring, and a port that serves at a fixed rate. Usage: sim OFFERED_PPS SERVICE_PPS TARGET_US SECONDS STOP_AT_S
// [STALL_EVERY_MS STALL_MS [PAUSE_EVERY_MS PAUSE_MS]] (the heavy flow stops at STOP_AT_S; the port, like a thread
// taken off its core, serves nothing for STALL_MS every STALL_EVERY_MS; the heavy flow, like a paced generator
// taken off its core, sends nothing for PAUSE_MS every PAUSE_EVERY_MS, then all it owes at once). Prints one JSON
// object.
#include <stdio.h>
#include <stdlib.h>

#include "../../shim/admission.h"

#define STEP_NS		20000ull // the port takes a batch every 20 us
#define RING		16384.0
#define DELAY_BUCKET_US 10
#define DELAY_BUCKETS	100000

int main(int argc, char **argv)
{
	if (argc != 6 && argc != 8 && argc != 10)
		return 2;
	double stall_every_ns = argc >= 8 ? atof(argv[6]) * 1e6 : 0, stall_ns = argc >= 8 ? atof(argv[7]) * 1e6 : 0;
	double pause_every_ns = argc == 10 ? atof(argv[8]) * 1e6 : 0, pause_ns = argc == 10 ? atof(argv[9]) * 1e6 : 0;
	double offered = atof(argv[1]), service = atof(argv[2]), seconds = atof(argv[4]), stop_at = atof(argv[5]);
	struct admission a;
	// The port's batch: what it serves in a step, so a backlog left behind one means it was full.
	admission_init(&a, (uint32_t)atoi(argv[3]), (uint32_t)RING, (uint32_t)(service * STEP_NS / 1e9), 0);
	static uint64_t delay_hist[DELAY_BUCKETS]; // the settled delays, in DELAY_BUCKET_US steps
	double queue = 0, heavy_in_window = 0, served_late = 0, delay_sum = 0, delay_max = 0, owed = 0;
	uint64_t drops = 0, congested = 0, ever_congested = 0, samples = 0, quantum = 0;
	uint64_t cleared_ns = 0, window_start = 0;
	for (uint64_t now = STEP_NS; now < (uint64_t)(seconds * 1e9); now += STEP_NS) {
		if (now - window_start >= ADMISSION_WINDOW_US * 1000ull) {
			window_start = now;
			heavy_in_window = 0;
		}
		bool heavy_on = now < stop_at * 1e9;
		owed += heavy_on ? offered * STEP_NS / 1e9 : 0;
		bool paused = pause_every_ns > 0 && (double)(now % (uint64_t)pause_every_ns) < pause_ns;
		double arriving = paused ? 0 : owed, pass = arriving;
		owed -= arriving;
		if (congested) {
			double room = quantum > heavy_in_window ? quantum - heavy_in_window : 0;
			pass = arriving < room ? arriving : room;
		}
		heavy_in_window += pass;
		drops += (uint64_t)(arriving - pass);
		// The port takes a batch of what was waiting; what arrives meanwhile is left behind it.
		bool stalled = stall_every_ns > 0 && (double)(now % (uint64_t)stall_every_ns) < stall_ns;
		double served = stalled ? 0 : service * STEP_NS / 1e9;
		served = served < queue ? served : queue;
		queue -= served;
		queue += pass;
		if (queue > RING)
			queue = RING; // the kernel drops what the ring cannot hold
		if (stalled)	      // a thread off its core takes no batch and runs no controller
			continue;
		if (admission_step(&a, now, (uint32_t)served, (uint32_t)queue, drops)) {
			congested = a.congested;
			quantum = a.quantum;
			ever_congested |= congested;
		}
		if (!heavy_on && !congested && !cleared_ns)
			cleared_ns = now;
		if (heavy_on && now > stop_at * 1e9 / 2) { // the second half of the overload: settled
			double d = queue / service * 1e6;
			delay_sum += d;
			delay_max = d > delay_max ? d : delay_max;
			delay_hist[(uint64_t)(d / DELAY_BUCKET_US) < DELAY_BUCKETS ? (uint64_t)(d / DELAY_BUCKET_US)
										   : DELAY_BUCKETS - 1]++;
			served_late += served;
			samples++;
		}
	}
	double late_s = samples * STEP_NS / 1e9;
	uint64_t below = 0, p99 = 0;
	while (p99 < DELAY_BUCKETS && (below += delay_hist[p99]) < samples * 99 / 100)
		p99++;
	printf("{\"meanDelayUs\":%.0f,\"p99DelayUs\":%llu,\"maxDelayUs\":%.0f,\"servedRatio\":%.3f,\"everCongested\":%"
	       "s,"
	       "\"drops\":%llu,\"clearedAfterMs\":%.1f}\n",
	       samples ? delay_sum / samples : 0, (unsigned long long)(p99 + 1) * DELAY_BUCKET_US, delay_max,
	       late_s > 0 ? served_late / (service * late_s) : 0, ever_congested ? "true" : "false",
	       (unsigned long long)drops, cleared_ns ? (cleared_ns - stop_at * 1e9) / 1e6 : -1);
	return 0;
}
