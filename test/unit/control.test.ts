// The control socket without a data plane: stale sockets of killed instances,
// and a request that never finishes.
import { readdirSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlServer, REQUEST_TIMEOUT_MS } from '../../host/control/server.js';
import { controlDir } from '../../host/lib/paths.js';
import { sleep } from '../helpers/afxdp.js';
import { ctl, staleSockets, withRunDir } from '../helpers/control.js';

test('ctl without -d skips and removes sockets nobody listens on: none live', async () => {
  await withRunDir(() => {
    staleSockets('gone1', 'gone2');
    const res = ctl('status');
    assert.is(res.code, 1);
    assert.is(res.err, 'afxdp-wasm: no running afxdp-wasm found (start one with npm start -- -d DEV)');
    assert.equal(readdirSync(controlDir()), []);
  });
});

/** Connects to a Unix socket and collects what it is sent until it closes. */
function openConnection(path: string): { conn: Socket; closed: Promise<{ data: string; after: number }> } {
  const started = performance.now();
  const conn = connect(path);
  let data = '';
  conn.setEncoding('utf8').on('data', (d: string) => (data += d));
  const closed = new Promise<{ data: string; after: number }>((resolve, reject) => {
    conn.on('error', reject);
    conn.on('close', () => resolve({ data, after: performance.now() - started }));
  });
  return { conn, closed };
}

test('a control request without its newline is answered with an error and closed; others are served meanwhile', async () => {
  await withRunDir(async () => {
    const server = await ControlServer.listen('faults0', {
      swap: () => Promise.reject(new Error('not here')),
      status: () => ({ queues: [] }),
      stats: () => ({}),
      capture: (_req, conn) => conn.end(),
    });
    try {
      const slow = openConnection(server.path);
      slow.conn.write('{"cmd":"status"');
      const ask = openConnection(server.path);
      ask.conn.write('{"cmd":"status"}\n');
      assert.equal(JSON.parse((await ask.closed).data), { ok: true, queues: [] });
      const cutOff = sleep(REQUEST_TIMEOUT_MS + 3000).then(() => undefined);
      const res = await Promise.race([slow.closed, cutOff]);
      assert.ok(res, `still open ${REQUEST_TIMEOUT_MS + 3000} ms later`);
      assert.equal(JSON.parse(res.data), {
        ok: false,
        error:
          `no complete request in 5 s; a request is one line of JSON ` + 'ending in a newline, e.g. {"cmd":"status"}',
      });
      assert.ok(res.after >= REQUEST_TIMEOUT_MS - 100, `closed after ${res.after} ms, before the timeout`);
      slow.conn.destroy();
    } finally {
      server.close();
    }
  });
});

test.run();
