// A fault-injecting HTTP proxy for the AWS side of the worker: put it in front of fauxqs (SQS + S3 on
// one endpoint) and point the SDK clients at it. Every request is forwarded unchanged unless a rule
// matches it; a matching rule answers with an AWS-shaped error, resets the connection, or forwards the
// request and then trickles, stalls or cuts the response body.
//
// Operations are recognised the way AWS routes them: SQS speaks the JSON protocol
// (`x-amz-target: AmazonSQS.ReceiveMessage`), S3 is REST (GET /bucket/key = GetObject, HEAD = HeadObject).
// Only node:http; 127.0.0.1 only.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Operation = { service: 'sqs' | 's3'; name: string; method: string; path: string };

/**
 * What a matching request gets:
 *   error           an AWS error response (SQS JSON `__type` + x-amzn-query-error, S3 XML <Error>)
 *   reset           the connection is destroyed before any answer
 *   resetAfterBytes forwarded; the body is cut (socket destroyed) after this many bytes
 *   slowBody        forwarded; the body is sent `chunkBytes` at a time every `intervalMs`, and holds
 *                   before its last chunk until `gate` resolves (when given)
 *   stallAfterBytes forwarded; after this many body bytes nothing more is sent (the client's idle timeout fires)
 *   delayMs         forwarded after a pause
 */
export type Fault =
  | { kind: 'error'; status: number; code: string; message?: string }
  | { kind: 'reset' }
  | { kind: 'resetAfterBytes'; bytes: number }
  | { kind: 'slowBody'; chunkBytes: number; intervalMs: number; gate?: Promise<void> }
  | { kind: 'stallAfterBytes'; bytes: number }
  | { kind: 'delay'; ms: number };

export type Match = {
  service?: Operation['service'];
  /** Operation name: ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibilityBatch, GetObject, … */
  operation?: string | string[];
  /** For S3: the object key (decoded) must satisfy this. */
  key?: (key: string) => boolean;
};

export type Rule = {
  readonly match: Match;
  readonly fault: Fault;
  /** Requests answered with the fault so far. */
  served: number;
  /** Requests left to fault (Infinity until removed). */
  remaining: number;
  remove(): void;
};

export type ProxyRecord = { op: Operation; key?: string; fault?: Fault['kind']; status?: number };

export type FaultProxy = {
  url: string;
  /** Faults the next `times` requests that match (default: until removed). */
  inject(match: Match, fault: Fault, times?: number): Rule;
  clear(): void;
  /** Every request seen, in order. */
  readonly records: ProxyRecord[];
  /** Requests of one operation seen (faulted or not). */
  count(operation: string): number;
  stop(): Promise<void>;
};

/** Names the AWS operation of a request. */
export function operationOf(req: http.IncomingMessage): Operation {
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?')[0]!;
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('AmazonSQS.')) return { service: 'sqs', name: target.slice('AmazonSQS.'.length), method, path };
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const isObject = path.split('/').filter(Boolean).length >= 2;
  let name = `${method} ${path}`;
  if (isObject && method === 'GET' && !query.has('uploads') && !query.has('uploadId')) name = 'GetObject';
  else if (isObject && method === 'HEAD') name = 'HeadObject';
  else if (isObject && method === 'PUT' && !query.has('partNumber')) name = 'PutObject';
  else if (isObject && method === 'DELETE') name = 'DeleteObject';
  return { service: 's3', name, method, path };
}

/** The object key of a path-style S3 request (/bucket/key…). */
function keyOf(op: Operation): string | undefined {
  if (op.service !== 's3') return undefined;
  const parts = op.path.split('/');
  if (parts.length < 3) return undefined;
  try {
    return decodeURIComponent(parts.slice(2).join('/'));
  } catch {
    return parts.slice(2).join('/');
  }
}

function matches(m: Match, op: Operation, key: string | undefined): boolean {
  if (m.service && m.service !== op.service) return false;
  if (m.operation && !(Array.isArray(m.operation) ? m.operation : [m.operation]).includes(op.name)) return false;
  if (m.key && (key === undefined || !m.key(key))) return false;
  return true;
}

function sendError(res: http.ServerResponse, op: Operation, f: Extract<Fault, { kind: 'error' }>): void {
  const message = f.message ?? `injected ${f.code}`;
  if (op.service === 'sqs') {
    const body = JSON.stringify({ __type: `com.amazonaws.sqs#${f.code}`, message });
    res.writeHead(f.status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': `${f.code};${f.status >= 500 ? 'Receiver' : 'Sender'}`,
      'x-amzn-requestid': 'fault-proxy',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${f.code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
  if (op.method === 'HEAD') {
    res.writeHead(f.status, { 'x-amz-request-id': 'fault-proxy' });
    res.end();
    return;
  }
  res.writeHead(f.status, { 'content-type': 'application/xml', 'x-amz-request-id': 'fault-proxy', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const rules: Array<Rule & { active: boolean }> = [];
  const records: ProxyRecord[] = [];
  const sockets = new Set<Socket>();
  const stalled = new Set<http.ServerResponse>();

  function take(op: Operation, key: string | undefined): Fault | undefined {
    for (const r of rules) {
      if (!r.active || r.remaining <= 0 || !matches(r.match, op, key)) continue;
      r.remaining--;
      r.served++;
      if (r.remaining <= 0) r.active = false;
      return r.fault;
    }
    return undefined;
  }

  const server = http.createServer((req, res) => {
    const op = operationOf(req);
    const key = keyOf(op);
    const fault = take(op, key);
    const rec: ProxyRecord = { op, ...(key !== undefined ? { key } : {}), ...(fault ? { fault: fault.kind } : {}) };
    records.push(rec);
    res.on('finish', () => { rec.status = res.statusCode; });

    if (fault?.kind === 'error') {
      req.resume();
      req.on('end', () => sendError(res, op, fault));
      return;
    }
    if (fault?.kind === 'reset') {
      req.resume();
      req.on('end', () => req.socket.destroy());
      return;
    }
    void forward(req, res, fault);
  });

  async function forward(req: http.IncomingMessage, res: http.ServerResponse, fault: Fault | undefined): Promise<void> {
    if (fault?.kind === 'delay') await sleep(fault.ms);
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (!fault || fault.kind === 'delay') {
          upRes.pipe(res);
          return;
        }
        void shapeBody(upRes, res, fault);
      },
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  }

  async function shapeBody(upRes: http.IncomingMessage, res: http.ServerResponse, fault: Fault): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of upRes) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (fault.kind === 'resetAfterBytes') {
      res.write(body.subarray(0, fault.bytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (fault.kind === 'stallAfterBytes') {
      res.write(body.subarray(0, fault.bytes));
      stalled.add(res);
      return;
    }
    if (fault.kind === 'slowBody') {
      let off = 0;
      while (off < body.length - fault.chunkBytes) {
        if (res.destroyed) return;
        res.write(body.subarray(off, off + fault.chunkBytes));
        off += fault.chunkBytes;
        await sleep(fault.intervalMs);
      }
      if (fault.gate) {
        // Keep the socket busy (not idle) while held, one byte at a time, so only the gate ends the wait.
        let open = true;
        void fault.gate.then(() => { open = false; });
        while (open && off < body.length - 1) {
          if (res.destroyed) return;
          res.write(body.subarray(off, off + 1));
          off++;
          await sleep(fault.intervalMs);
        }
        await fault.gate;
      }
      if (!res.destroyed) res.end(body.subarray(off));
    }
  }

  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    inject(match, fault, times = Infinity) {
      const rule = {
        match,
        fault,
        served: 0,
        remaining: times,
        active: true,
        remove() {
          rule.active = false;
          rule.remaining = 0;
        },
      };
      rules.push(rule);
      return rule;
    },
    clear() {
      for (const r of rules) r.remove();
    },
    records,
    count(operation) {
      return records.filter((r) => r.op.name === operation).length;
    },
    async stop() {
      for (const r of rules) r.remove();
      for (const res of stalled) res.destroy();
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
