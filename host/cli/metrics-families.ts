// What afxdp-wasm --metrics exports: the metric families, built from one
// reading of each queue's shared counters, its socket's XDP_STATISTICS and
// the swapper's record. Nothing here asks a worker anything.
import type { Counters, QueueReading } from '../dataplane/dataplane.js';
import { COUNTER } from '../dataplane/layout.js';
import type { XdpStatistics } from '../dataplane/shim.js';
import { type Family, type Sample, histogramSamples } from '../lib/prometheus.js';

export interface SwapRecord {
  done: number;
  refused: number;
  lastMs: number | undefined;
}

export interface MetricsInput {
  queues: QueueReading[];
  swaps: SwapRecord;
  /** --fair: its admission control's counters are exported too. */
  fair: boolean;
}

type Pick = (r: QueueReading) => number | undefined;

function perQueue(name: string, type: 'counter' | 'gauge', help: string, pick: Pick, readings: QueueReading[]): Family {
  const samples: Sample[] = [];
  for (const r of readings) {
    const value = pick(r);
    if (value !== undefined) samples.push({ labels: { queue: r.queue }, value });
  }
  return { name, type, help, samples };
}

const COUNTED: [string, keyof Counters, string][] = [
  ['afxdp_rx_packets_total', 'rxPackets', 'Packets taken from the RX ring.'],
  ['afxdp_rx_bytes_total', 'rxBytes', 'Bytes taken from the RX ring.'],
  ['afxdp_tx_packets_total', 'txPackets', 'Packets put on the TX ring.'],
  ['afxdp_tx_bytes_total', 'txBytes', 'Bytes put on the TX ring.'],
  ['afxdp_drop_verdicts_total', 'dropped', 'Packets the handler dropped (DROP verdicts).'],
  [
    'afxdp_refused_verdicts_total',
    'invalid',
    'Verdicts, lengths or addresses the shim refused (the frame was dropped).',
  ],
  ['afxdp_tx_ring_full_total', 'txRingFull', 'TX verdicts dropped because the TX ring was full.'],
  ['afxdp_handler_errors_total', 'handlerErrors', 'Batches whose handler trapped (their packets were dropped).'],
  ['afxdp_tx_kicks_total', 'kicks', 'TX kicks (sendto).'],
  ['afxdp_tx_kick_errors_total', 'kickErrors', 'TX kicks that failed for another reason than a busy kernel.'],
];

const KERNEL: [keyof XdpStatistics, string][] = [
  ['rx_dropped', 'Packets the kernel dropped for this socket for other reasons than a full ring.'],
  ['rx_invalid_descs', 'Invalid descriptors on the RX side.'],
  ['tx_invalid_descs', 'Invalid descriptors on the TX ring.'],
  ['rx_ring_full', 'Packets dropped because the RX ring was full.'],
  ['rx_fill_ring_empty_descs', 'Times the kernel found the FILL ring empty.'],
  ['tx_ring_empty_descs', 'Times the kernel found the TX ring empty when kicked.'],
];

/** Where a UMEM frame is: each is in exactly one place. */
const FRAME_PLACES: [string, keyof Counters][] = [
  ['free', 'framesFree'],
  ['fill_rx', 'framesRxKernel'],
  ['batch', 'framesBatch'],
  ['tx', 'framesTxKernel'],
];

/** The bucket counters in the contract's order, one per power of two: their upper bounds. */
const BATCH_BUCKETS = Object.keys(COUNTER)
  .filter((name) => name.startsWith('batchUpTo'))
  .map((name) => ({ name: name as keyof Counters, le: Number(name.slice('batchUpTo'.length)) }));

function frameFamilies(readings: QueueReading[]): Family[] {
  const places = readings.flatMap((r) =>
    FRAME_PLACES.map(([where, key]) => ({ labels: { queue: r.queue, where }, value: r.counters[key] })),
  );
  return [
    perQueue('afxdp_umem_frames', 'gauge', "Frames of the queue's UMEM.", (r) => r.counters.framesTotal, readings),
    {
      name: 'afxdp_frames',
      type: 'gauge',
      help: 'UMEM frames by where they are: free, fill_rx (given to the kernel), batch (with the handler), tx.',
      samples: places,
    },
  ];
}

function handlerFamilies(readings: QueueReading[]): Family[] {
  const reasons = readings.flatMap((r) =>
    Object.entries(r.reasons).map(([reason, value]) => ({ labels: { queue: r.queue, reason }, value })),
  );
  const batches = readings.flatMap((r) =>
    histogramSamples(
      'afxdp_batch_size',
      { queue: r.queue },
      BATCH_BUCKETS.map((b) => b.le),
      BATCH_BUCKETS.map((b) => r.counters[b.name]),
      r.counters.rxPackets,
    ),
  );
  const info = readings.map((r) => ({
    labels: { queue: r.queue, file: r.handler.path, sha256: r.handler.hash },
    value: 1,
  }));
  return [
    {
      name: 'afxdp_handler_reason_total',
      type: 'counter',
      help: "The handler's own per-reason counters.",
      samples: reasons,
    },
    { name: 'afxdp_batch_size', type: 'histogram', help: 'Packets per batch handed to the handler.', samples: batches },
    { name: 'afxdp_handler_info', type: 'gauge', help: 'The handler each queue runs: file and sha256.', samples: info },
    perQueue(
      'afxdp_handler_start_time_seconds',
      'gauge',
      'When the running handler took over the queue (Unix time).',
      (r) => r.since.getTime() / 1000,
      readings,
    ),
  ];
}

function swapFamilies(swaps: SwapRecord): Family[] {
  const last = swaps.lastMs === undefined ? [] : [{ labels: {}, value: Math.round(swaps.lastMs * 1000) / 1e6 }];
  return [
    {
      name: 'afxdp_swaps_total',
      type: 'counter',
      help: 'Handler swaps done.',
      samples: [{ labels: {}, value: swaps.done }],
    },
    {
      name: 'afxdp_swaps_refused_total',
      type: 'counter',
      help: 'Handler swaps refused (the running handler stayed).',
      samples: [{ labels: {}, value: swaps.refused }],
    },
    {
      name: 'afxdp_last_swap_duration_seconds',
      type: 'gauge',
      help: 'How long the last swap took, loading and checking the file included.',
      samples: last,
    },
  ];
}

function admissionFamilies(readings: QueueReading[]): Family[] {
  return [
    perQueue(
      'afxdp_admission_dropped_total',
      'counter',
      '--fair: packets its XDP program dropped before they reached the RX ring.',
      (r) => r.counters.admissionDropped,
      readings,
    ),
    perQueue(
      'afxdp_admission_sparse_lane_packets_total',
      'counter',
      '--fair: packets of sparse flows taken from the sparse lane, ahead of the RX backlog.',
      (r) => r.counters.sparseLanePackets,
      readings,
    ),
    perQueue(
      'afxdp_admission_congested',
      'gauge',
      "--fair: 1 while the queue's RX delay is held down.",
      (r) => r.counters.admissionCongested,
      readings,
    ),
    perQueue(
      'afxdp_admission_delay_seconds',
      'gauge',
      '--fair: the last RX queueing delay estimate.',
      (r) => r.counters.admissionDelayUs / 1e6,
      readings,
    ),
  ];
}

export function metricFamilies({ queues, swaps, fair }: MetricsInput): Family[] {
  return [
    ...COUNTED.map(([name, key, help]) => perQueue(name, 'counter', help, (r) => r.counters[key], queues)),
    ...frameFamilies(queues),
    ...KERNEL.map(([key, help]) =>
      perQueue(`afxdp_xdp_${key}_total`, 'counter', `XDP_STATISTICS: ${help}`, (r) => r.xdp?.[key], queues),
    ),
    ...handlerFamilies(queues),
    ...swapFamilies(swaps),
    ...(fair ? admissionFamilies(queues) : []),
  ];
}
