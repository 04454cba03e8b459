// Checks an incoming request's AWS SigV4 signature the way AWS does: recompute it with the AWS SDK's
// own signer (@smithy/signature-v4) from the request as received, for the credentials, region and
// service the server expects, and compare. Also checks x-amz-content-sha256 against the body and the
// session token header. Used by the OpenSearch double.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

export type SigV4Expectation = {
  region: string;
  service: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
};

/** node:crypto as the Checksum constructor the SDK signer wants (HMAC when given a secret). */
class NodeSha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

type Incoming = { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** Undefined when the request is correctly signed; otherwise why not (as AWS would say it). */
export async function sigv4Problem(req: Incoming, expect: SigV4Expectation): Promise<string | undefined> {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const auth = header('authorization');
  if (!auth) return 'Missing Authentication Token';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return `Authorization header is not a SigV4 header: ${auth.slice(0, 40)}…`;
  const [, keyId, day, region, service, signedHeaders, signature] = m;
  if (keyId !== expect.credentials.accessKeyId) return 'The security token included in the request is invalid.';
  if (region !== expect.region) return `Credential should be scoped to a valid region, not '${region}'.`;
  if (service !== expect.service) return `Credential should be scoped to correct service: '${expect.service}'.`;
  const amzDate = header('x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== day) return 'X-Amz-Date is missing or does not match the credential scope';
  const when = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  if (Math.abs(Date.now() - when) > 5 * 60_000) return 'Signature expired';
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  if (header('x-amz-content-sha256') !== bodyHash) return 'x-amz-content-sha256 does not match the request body';
  if (expect.credentials.sessionToken !== undefined && header('x-amz-security-token') !== expect.credentials.sessionToken) {
    return 'The security token included in the request is invalid.';
  }
  const url = new URL(req.url, 'http://placeholder');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const names = signedHeaders!.split(';');
  if (!names.includes('host')) return 'host must be a signed header';
  const headers: Record<string, string> = {};
  for (const n of names) {
    const v = header(n);
    if (v === undefined) return `signed header ${n} is missing`;
    headers[n] = v;
  }
  const signer = new SignatureV4({ credentials: expect.credentials, region: expect.region, service: expect.service, sha256: NodeSha256 });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: headers.host!.replace(/:\d+$/, ''), path: url.pathname, query, headers, body: req.body },
    { signingDate: new Date(when), signingRegion: expect.region, signingService: expect.service },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization))?.[1];
  if (expected !== signature) return 'The request signature we calculated does not match the signature you provided.';
  return undefined;
}
