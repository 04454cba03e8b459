// The one way this project runs a node:http server (the ops endpoint, `serve`): a bounded number of
// connections and of requests in progress — past that a request is answered at once (503 and
// Retry-After) instead of queueing — and deadlines that hold: headersTimeout is only checked every
// connectionsCheckingInterval (30 s by default), so the interval follows the deadline.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type ServerLimits = {
  maxConnections: number;
  maxConcurrentRequests: number;
  /** The request headers must arrive within this; an idle keep-alive socket is closed after it, ms. */
  headersTimeoutMs: number;
  /** The whole request within this; a socket silent this long is destroyed, ms. */
  requestTimeoutMs: number;
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** `busy` answers a request beyond maxConcurrentRequests (Retry-After and Connection: close are set). */
export function createGuardedServer(limits: ServerLimits, busy: Handler, handle: Handler): Server {
  let active = 0;
  const server = createServer({ connectionsCheckingInterval: Math.max(100, Math.floor(limits.headersTimeoutMs / 5)) }, (req, res) => {
    if (active >= limits.maxConcurrentRequests) {
      res.setHeader('retry-after', '1');
      res.setHeader('connection', 'close');
      busy(req, res);
      return;
    }
    active++;
    res.once('close', () => active--);
    handle(req, res);
  });
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.headersTimeoutMs;
  server.setTimeout(limits.requestTimeoutMs, (socket) => socket.destroy());
  return server;
}
