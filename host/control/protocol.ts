// The control socket's protocol: one JSON request line, one JSON reply line. A capture request
// is answered by its reply line, then the capture itself as pcapng blocks until it ends; the
// client may send the line "stop" to end it early (host/control/capture-stream.ts).

export interface CaptureRequest {
  cmd: 'capture';
  /** The RX queue to capture; all served queues when left out. */
  queue?: number;
  /** Ends after this many frames received (with what was sent for them). */
  count?: number;
  /** Ends after this many seconds. */
  seconds?: number;
  /** Bytes of the ring between each packet worker and the writer. */
  buffer?: number;
}

/** swap: check runs afxdp-wasm check's short check first and refuses a handler that fails it. */
export type Request =
  | { cmd: 'swap'; path: string; check?: boolean }
  | { cmd: 'status' }
  | { cmd: 'stats' }
  | CaptureRequest;
export type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export const COMMANDS = ['swap', 'status', 'stats', 'capture'];

/** What a client sends on a capture connection to end it early. */
export const STOP_LINE = 'stop\n';

/** The capture ring's size when the request gives none, and its bounds. */
export const CAPTURE_BUFFER = { default: 4 * 1024 * 1024, min: 16 * 1024, max: 256 * 1024 * 1024 };
