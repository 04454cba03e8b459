// A delaying HTTP proxy on 127.0.0.1: every request waits `delayMs` before it is forwarded to the
// emulator, so each SQS call costs about one network round trip, as it does against real SQS.
// Streams bodies both ways; the long poll's own wait is untouched.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type DelayProxy = { url: string; calls: number; close(): Promise<void> };

export async function startDelayProxy(target: string, delayMs: number): Promise<DelayProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const state = { calls: 0 };
  const server = http.createServer((req, res) => {
    state.calls++;
    // Hold the request (paused) for the round trip, then forward it unchanged.
    req.pause();
    void sleep(delayMs).then(() => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`delay proxy: ${err.message}`);
      });
      // A client that gives up (an aborted long poll) cancels the forwarded call too.
      res.on('close', () => { if (!res.writableFinished) out.destroy(); });
      req.pipe(out);
      req.resume();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return state.calls;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
