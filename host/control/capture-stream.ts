// The responder's side of ctl capture: turns capture on in the packet workers, drains their
// rings every few milliseconds into pcapng blocks on the control connection, and turns it off
// when the count or the time is reached, the client sends "stop", or the connection closes.
// The stream is the client's to write where it likes: the responder never opens a file.
import type { Socket } from 'node:net';
import { type CapturedFrame, INBOUND } from '../dataplane/capture.js';
import type { LiveCapture } from '../dataplane/dataplane.js';
import { VERDICT } from '../dataplane/layout.js';
import { enhancedPacket, interfaceDescription, interfaceStatistics, sectionHeader } from '../offline/pcapng.js';
import { CAPTURE_BUFFER, type CaptureRequest, type Reply } from './protocol.js';

/** What a capture needs of the data plane (Dataplane has it). */
export interface CaptureSource {
  readonly queues: number[];
  capture(queue: number | undefined, bytes: number): LiveCapture;
}

const DRAIN_MS = 10;
/** Past this much unsent on the connection, the rings are left to fill (and count their losses). */
const MAX_UNSENT = 4 * 1024 * 1024;

let running: CaptureStream | undefined;

/** Ends the capture running, if any, as a stop from the client would: before the data plane stops. */
export function endCapture(): void {
  running?.end();
}

/** Serves one capture request on conn, as the control server hands it over. */
export function streamCapture(source: CaptureSource, ifname: string, req: CaptureRequest, conn: Socket): void {
  const refuse = (error: string) => void conn.end(`${JSON.stringify({ ok: false, error } satisfies Reply)}\n`);
  if (req.queue !== undefined && !source.queues.includes(req.queue)) {
    refuse(`queue ${req.queue} is not served here (served: ${source.queues.join(',')})`);
    return;
  }
  if (running) {
    refuse(`a capture of ${ifname} is already running; one at a time`);
    return;
  }
  running = new CaptureStream(source, ifname, req, conn);
}

class CaptureStream {
  private readonly live: LiveCapture;
  /** pcapng interface number of each captured queue. */
  private readonly iface = new Map<number, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private received = 0;
  /** Once count frames were received: the time of their batch. Records of later batches are not written. */
  private lastBatch: number | undefined;
  /** Capture on: until the count, the time or a stop ends it, or the connection closes. */
  private active = true;

  constructor(
    source: CaptureSource,
    ifname: string,
    private readonly req: CaptureRequest,
    private readonly conn: Socket,
  ) {
    const queues = req.queue === undefined ? source.queues : [req.queue];
    for (const [i, q] of queues.entries()) this.iface.set(q, i);
    conn.write(`${JSON.stringify({ ok: true, interface: ifname, queues } satisfies Reply)}\n`);
    conn.write(sectionHeader(`afxdp-wasm ctl capture of ${ifname}`));
    for (const q of queues) conn.write(interfaceDescription(`${ifname}:${q}`, `${ifname} RX queue ${q} (AF_XDP)`));
    this.live = source.capture(req.queue, req.buffer ?? CAPTURE_BUFFER.default);
    this.timers.push(setInterval(() => this.drain(), DRAIN_MS));
    if (req.seconds !== undefined) this.timers.push(setTimeout(() => this.end(), req.seconds * 1000));
    conn.on('data', (d: string | Buffer) => {
      if (String(d).includes('stop')) this.end();
    });
    conn.on('error', () => conn.destroy());
    conn.on('close', () => this.off());
  }

  private drain(): void {
    if (this.conn.writableLength > MAX_UNSENT) return;
    for (const { ring } of this.live.rings) ring.drain((f) => this.take(f));
    if (this.lastBatch !== undefined) this.end();
  }

  /**
   * Writes a frame, until the count is reached: then what the last batch sent still goes (its
   * records follow its received frames, with the same time), and nothing after it.
   */
  private take(frame: CapturedFrame): void {
    if (this.lastBatch !== undefined && frame.micros !== this.lastBatch) return;
    if (frame.direction === INBOUND) {
      if (this.lastBatch !== undefined) return;
      this.received++;
      if (this.received === this.req.count) this.lastBatch = frame.micros;
    }
    const iface = this.iface.get(frame.queue);
    if (iface === undefined) return;
    this.conn.write(
      enhancedPacket({
        iface,
        micros: frame.micros,
        data: frame.data,
        direction: frame.direction === INBOUND ? 'inbound' : 'outbound',
        comment: describe(frame),
      }),
    );
  }

  /** The last records, what was lost per queue, and the end of the stream. */
  end(): void {
    if (!this.active) return;
    // Capture off first: the last drain then holds every frame captured.
    this.off();
    for (const { ring } of this.live.rings) ring.drain((f) => this.take(f));
    const now = Date.now() * 1000;
    for (const { ring, queues } of this.live.rings) {
      queues.forEach((q, slot) => {
        const iface = this.iface.get(q);
        if (iface === undefined) return;
        const lost = ring.lost(slot);
        const note = lost ? `${lost} frames not captured: the capture buffer was full` : undefined;
        this.conn.write(interfaceStatistics(iface, now, lost, note));
      });
    }
    this.conn.end();
  }

  /** Capture off; once, whichever way it ended (end(), or the connection closed). */
  private off(): void {
    if (!this.active) return;
    this.active = false;
    for (const t of this.timers) clearInterval(t);
    this.live.end();
    if (running === this) running = undefined;
  }
}

/** The comment each packet carries: queue, direction, verdict and what the handler's counters say. */
function describe(f: CapturedFrame): string {
  if (f.direction !== INBOUND) return `queue ${f.queue}, out`;
  const verdict = f.verdict === VERDICT.tx ? 'tx' : f.verdict === VERDICT.drop ? 'drop' : 'none';
  return `queue ${f.queue}, in, verdict ${verdict}${f.note ? `, ${f.note}` : ''}`;
}
