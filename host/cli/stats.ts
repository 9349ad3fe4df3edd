// The stats lines, in the lesson's exact format (af_xdp_user's stats_print):
// "%-12s %'11lld pkts (%'10.0f pps) %'11lld Kbytes (%'6.0f Mbits/s) period:%f"
import type { Counters } from '../dataplane/dataplane.js';
import type { XdpStatistics } from '../dataplane/shim.js';

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0, useGrouping: true });
const pad = (s: string, width: number) => s.padStart(width);

function line(label: string, packets: number, bytes: number, dPackets: number, dBytes: number, period: number): string {
  const pps = dPackets / period;
  const mbits = (dBytes * 8) / period / 1_000_000;
  return (
    `${label.padEnd(12)} ${pad(grouped.format(packets), 11)} pkts (${pad(grouped.format(pps), 10)} pps)` +
    ` ${pad(grouped.format(Math.floor(bytes / 1000)), 11)} Kbytes (${pad(grouped.format(mbits), 6)} Mbits/s)` +
    ` period:${period.toFixed(6)}`
  );
}

export interface QueueCounters {
  queue: number;
  counters: Counters;
}

/** The lesson's two lines for the total; with several queues, one line per queue after them. */
export function statsText(now: Counters, prev: Counters, period: number, perQueue: QueueCounters[] = []): string {
  return [
    line('AF_XDP RX:', now.rxPackets, now.rxBytes, now.rxPackets - prev.rxPackets, now.rxBytes - prev.rxBytes, period),
    line('       TX:', now.txPackets, now.txBytes, now.txPackets - prev.txPackets, now.txBytes - prev.txBytes, period),
    ...perQueue.map(
      ({ queue, counters: c }) =>
        `  queue ${String(queue).padEnd(3)} RX ${pad(grouped.format(c.rxPackets), 11)} pkts  TX ${pad(grouped.format(c.txPackets), 11)} pkts`,
    ),
    '',
  ].join('\n');
}

export function statsJson(
  now: Counters,
  prev: Counters,
  period: number,
  reasons: Record<string, number>,
  perQueue: QueueCounters[] = [],
): string {
  return JSON.stringify({
    type: 'stats',
    period,
    reasons,
    queues: perQueue,
    rx: { packets: now.rxPackets, bytes: now.rxBytes, pps: (now.rxPackets - prev.rxPackets) / period },
    tx: { packets: now.txPackets, bytes: now.txBytes, pps: (now.txPackets - prev.txPackets) / period },
    counters: now,
  });
}

/** What the frames are doing: every one is in exactly one place. */
export function frameAccount(c: Counters) {
  const inFlight = c.framesRxKernel + c.framesBatch + c.framesTxKernel;
  return { total: c.framesTotal, free: c.framesFree, inFlight, balanced: c.framesFree + inFlight === c.framesTotal };
}

export function totalsText(
  c: Counters,
  xdp: XdpStatistics | undefined,
  reasons: Record<string, number>,
  perQueue: QueueCounters[] = [],
): string {
  const f = frameAccount(c);
  const rows = [
    `Totals: RX ${c.rxPackets} pkts ${c.rxBytes} bytes, TX ${c.txPackets} pkts ${c.txBytes} bytes`,
    `  handler: dropped ${c.dropped}, refused verdicts ${c.invalid}, TX ring full ${c.txRingFull}, handler errors ${c.handlerErrors}, batches ${c.batches}`,
    `  frames: ${f.free} free + ${f.inFlight} in flight = ${f.free + f.inFlight} of ${f.total}${f.balanced ? '' : '  MISMATCH'}`,
  ];
  if (c.admissionDropped > 0 || c.sparseLanePackets > 0)
    rows.push(
      `  admission (--fair): dropped ${c.admissionDropped} in the XDP program, ` +
        `${c.sparseLanePackets} served first from the sparse lane`,
    );
  for (const { queue, counters: q } of perQueue)
    rows.push(`  queue ${queue}: RX ${q.rxPackets} pkts, TX ${q.txPackets} pkts`);
  const said = Object.entries(reasons).filter(([, n]) => n > 0);
  if (said.length > 0) rows.push(`  handler's reasons: ${said.map(([name, n]) => `${name} ${n}`).join(', ')}`);
  if (xdp) {
    rows.push(
      `  kernel (XDP_STATISTICS): rx_dropped ${xdp.rx_dropped}, rx_ring_full ${xdp.rx_ring_full}, ` +
        `rx_fill_ring_empty_descs ${xdp.rx_fill_ring_empty_descs}, tx_ring_empty_descs ${xdp.tx_ring_empty_descs}, ` +
        `rx_invalid_descs ${xdp.rx_invalid_descs}, tx_invalid_descs ${xdp.tx_invalid_descs}`,
    );
  }
  return rows.join('\n');
}

export function totalsJson(
  c: Counters,
  xdp: XdpStatistics | undefined,
  reasons: Record<string, number>,
  perQueue: QueueCounters[] = [],
): string {
  return JSON.stringify({
    type: 'exit',
    counters: c,
    reasons,
    frames: frameAccount(c),
    xdp: xdp ?? null,
    queues: perQueue,
  });
}
