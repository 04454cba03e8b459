// Turns an SQS message body into jobs. Accepted forms, all ending as the same JobSpec shape:
//   - S3 event notification: {"Records":[{eventName, s3:{bucket:{name}, object:{key,...}}}, ...]}.
//     Keys are form-url-encoded by S3 ("red flower.jpg" -> "red+flower.jpg", "+" -> "%2B").
//   - the same inside an SNS envelope: {"Type":"Notification","Message":"<json string>"}.
//   - EventBridge: {"source":"aws.s3","detail-type":"Object Created"|"Object Deleted","detail":{...}}.
//     EventBridge keys are NOT url-encoded (AWS's own example carries a raw ":"), so they are kept as is.
//   - a plain {"bucket","key"} body (manual reindex, backfill), key not encoded, optional "action",
//     "etag", "versionId", "size", "sequencer", and "force": true to redo work already done (reprocess).
//   - s3:TestEvent (sent when a notification is configured) and SNS confirmations: no jobs.
// Anything else throws MalformedMessageError saying what was wrong; the redrive policy then moves the
// message to the DLQ. One bad record fails the whole message so that nothing is dropped silently.
import { MalformedMessageError } from '../errors.ts';
import type { JobAction, JobSpec, ObjectRef } from '../types.ts';

export type ParseLimits = {
  /** Largest body accepted, bytes (UTF-8). */
  maxBodyBytes: number;
  /** Deepest nesting of JSON arrays/objects accepted. */
  maxDepth: number;
  /** Most records accepted in one S3 notification. */
  maxRecords: number;
};

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxBodyBytes: 256 * 1024, maxDepth: 32, maxRecords: 1000 };

/** S3's own limit on key length, bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
/** Legacy us-east-1 bucket names allowed upper case and underscores, up to 255 characters. */
const BUCKET_RE = /^[A-Za-z0-9._-]{1,255}$/;
const SEQUENCER_RE = /^[0-9A-Fa-f]{1,64}$/;

type Json = Record<string, unknown>;

export function parseMessageBody(body: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): JobSpec[] {
  const doc = parseJsonObject(body, limits, 'message body');
  if (doc.Type === 'Notification' && typeof doc.Message === 'string') {
    // SNS envelope: the S3 / EventBridge document is a JSON string inside it (one level only).
    const inner = parseJsonObject(doc.Message, limits, 'SNS Message');
    return parseDocument(inner, limits, 'SNS Message');
  }
  if (doc.Type === 'SubscriptionConfirmation' || doc.Type === 'UnsubscribeConfirmation') return [];
  return parseDocument(doc, limits, 'message body');
}

function parseDocument(doc: Json, limits: ParseLimits, where: string): JobSpec[] {
  if (doc.Event === 's3:TestEvent') return [];
  if ('Records' in doc) return parseS3Notification(doc.Records, limits, where);
  if ('detail-type' in doc || 'source' in doc) return parseEventBridge(doc, where);
  if ('bucket' in doc || 'key' in doc) return [parsePlain(doc, where)];
  if (doc.Type === 'Notification') throw new MalformedMessageError(`${where}: SNS envelope without a string Message`);
  throw new MalformedMessageError(`${where}: not an S3 notification, SNS envelope, EventBridge event or {bucket,key}; keys were ${describeKeys(doc)}`);
}

// ---------------------------------------------------------------------------------------------
// S3 event notifications

function parseS3Notification(records: unknown, limits: ParseLimits, where: string): JobSpec[] {
  if (!Array.isArray(records)) throw new MalformedMessageError(`${where}: Records must be an array, got ${typeName(records)}`);
  if (records.length > limits.maxRecords) {
    throw new MalformedMessageError(`${where}: ${records.length} records, over the limit of ${limits.maxRecords}`);
  }
  const jobs: JobSpec[] = [];
  records.forEach((record, i) => {
    const job = parseS3Record(record, `${where}: Records[${i}]`);
    if (job) jobs.push(job);
  });
  return jobs;
}

/** Event name (with or without the "s3:" prefix) -> what to do; undefined means "not for us". */
export function actionForS3Event(eventName: string): JobAction | undefined {
  const name = eventName.startsWith('s3:') ? eventName.slice(3) : eventName;
  if (name.startsWith('ObjectCreated:')) return 'upsert';
  // ObjectRemoved:Delete / :DeleteMarkerCreated, and lifecycle expiry, which removes objects too.
  if (name.startsWith('ObjectRemoved:') || name.startsWith('LifecycleExpiration:')) return 'remove';
  return undefined; // ObjectRestore, Replication, ObjectTagging, ObjectAcl, LifecycleTransition, ...
}

function parseS3Record(record: unknown, where: string): JobSpec | undefined {
  const r = asObject(record, where);
  if (r.eventSource !== undefined && r.eventSource !== 'aws:s3') {
    throw new MalformedMessageError(`${where}: eventSource is ${JSON.stringify(r.eventSource)}, expected "aws:s3"`);
  }
  const eventName = requireString(r.eventName, `${where}.eventName`);
  const action = actionForS3Event(eventName);
  if (!action) return undefined;
  const s3 = asObject(r.s3, `${where}.s3`);
  const bucket = parseBucket(asObject(s3.bucket, `${where}.s3.bucket`).name, `${where}.s3.bucket.name`);
  const object = asObject(s3.object, `${where}.s3.object`);
  const key = decodeS3EventKey(requireString(object.key, `${where}.s3.object.key`), `${where}.s3.object.key`);
  const ref: ObjectRef = { bucket, key: checkKey(key, `${where}.s3.object.key`) };
  addOptionalFields(ref, { versionId: object.versionId, etag: object.eTag, sequencer: object.sequencer, size: object.size }, `${where}.s3.object`);
  return { ref, action };
}

/** S3 notifications form-url-encode keys: "+" is a space and "%2B" a plus. */
export function decodeS3EventKey(encoded: string, where = 'key'): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new MalformedMessageError(`${where}: invalid percent-encoding in ${JSON.stringify(truncate(encoded))}`);
  }
}

// ---------------------------------------------------------------------------------------------
// EventBridge

const EVENTBRIDGE_ACTIONS: Readonly<Record<string, JobAction>> = {
  'Object Created': 'upsert',
  'Object Deleted': 'remove',
};

function parseEventBridge(doc: Json, where: string): JobSpec[] {
  if (doc.source !== 'aws.s3') throw new MalformedMessageError(`${where}: EventBridge source is ${JSON.stringify(doc.source)}, expected "aws.s3"`);
  const detailType = requireString(doc['detail-type'], `${where}.detail-type`);
  const action = EVENTBRIDGE_ACTIONS[detailType];
  if (!action) return []; // Object Restore *, Object Tags *, Object ACL Updated, Object Storage Class Changed ...
  const detail = asObject(doc.detail, `${where}.detail`);
  const bucket = parseBucket(asObject(detail.bucket, `${where}.detail.bucket`).name, `${where}.detail.bucket.name`);
  const object = asObject(detail.object, `${where}.detail.object`);
  const key = checkKey(requireString(object.key, `${where}.detail.object.key`), `${where}.detail.object.key`);
  const ref: ObjectRef = { bucket, key };
  addOptionalFields(ref, { versionId: object['version-id'], etag: object.etag, sequencer: object.sequencer, size: object.size }, `${where}.detail.object`);
  return [{ ref, action }];
}

// ---------------------------------------------------------------------------------------------
// Plain {bucket, key}

function parsePlain(doc: Json, where: string): JobSpec {
  const bucket = parseBucket(doc.bucket, `${where}.bucket`);
  const key = checkKey(requireString(doc.key, `${where}.key`), `${where}.key`);
  let action: JobAction = 'upsert';
  if (doc.action !== undefined) {
    if (doc.action !== 'upsert' && doc.action !== 'remove') {
      throw new MalformedMessageError(`${where}.action must be "upsert" or "remove", got ${JSON.stringify(doc.action)}`);
    }
    action = doc.action;
  }
  if (doc.force !== undefined && typeof doc.force !== 'boolean') throw new MalformedMessageError(`${where}.force must be true or false, got ${JSON.stringify(doc.force)}`);
  const ref: ObjectRef = { bucket, key };
  addOptionalFields(ref, { versionId: doc.versionId, etag: doc.etag, sequencer: doc.sequencer, size: doc.size }, where);
  return { ref, action, ...(doc.force === true ? { force: true } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Field checks

function parseBucket(value: unknown, where: string): string {
  const name = requireString(value, where);
  if (!BUCKET_RE.test(name)) throw new MalformedMessageError(`${where}: not a valid bucket name: ${JSON.stringify(truncate(name))}`);
  return name;
}

function checkKey(key: string, where: string): string {
  if (key.length === 0) throw new MalformedMessageError(`${where}: empty object key`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) throw new MalformedMessageError(`${where}: key is ${bytes} bytes, over S3's limit of ${MAX_KEY_BYTES}`);
  return key;
}

function addOptionalFields(
  ref: ObjectRef,
  f: { versionId: unknown; etag: unknown; sequencer: unknown; size: unknown },
  where: string,
): void {
  // S3 writes versionId "null" for objects in unversioned buckets: that is no version at all.
  if (f.versionId !== undefined && f.versionId !== null && f.versionId !== '' && f.versionId !== 'null') {
    ref.versionId = requireString(f.versionId, `${where}.versionId`);
  }
  if (f.etag !== undefined && f.etag !== null && f.etag !== '') {
    const etag = requireString(f.etag, `${where}.eTag`).replace(/^"+|"+$/g, '');
    if (!/^[0-9A-Za-z-]{1,128}$/.test(etag)) throw new MalformedMessageError(`${where}.eTag: unexpected value ${JSON.stringify(truncate(etag))}`);
    ref.etag = etag;
  }
  if (f.sequencer !== undefined && f.sequencer !== null && f.sequencer !== '') {
    const seq = requireString(f.sequencer, `${where}.sequencer`);
    if (!SEQUENCER_RE.test(seq)) throw new MalformedMessageError(`${where}.sequencer must be hex, got ${JSON.stringify(truncate(seq))}`);
    ref.sequencer = seq;
  }
  if (f.size !== undefined && f.size !== null) {
    if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 0) {
      throw new MalformedMessageError(`${where}.size must be a non-negative integer, got ${JSON.stringify(f.size)}`);
    }
    ref.size = f.size;
  }
}

function requireString(value: unknown, where: string): string {
  if (value === undefined || value === null) throw new MalformedMessageError(`${where} is missing`);
  if (typeof value !== 'string') throw new MalformedMessageError(`${where} must be a string, got ${typeName(value)}`);
  return value;
}

function asObject(value: unknown, where: string): Json {
  if (value === undefined || value === null) throw new MalformedMessageError(`${where} is missing`);
  if (typeof value !== 'object' || Array.isArray(value)) throw new MalformedMessageError(`${where} must be an object, got ${typeName(value)}`);
  return value as Json;
}

// ---------------------------------------------------------------------------------------------
// Hostile input guards

function parseJsonObject(text: string, limits: ParseLimits, where: string): Json {
  if (typeof text !== 'string') throw new MalformedMessageError(`${where} must be a string, got ${typeName(text)}`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBodyBytes) throw new MalformedMessageError(`${where} is ${bytes} bytes, over the limit of ${limits.maxBodyBytes}`);
  if (text.trim() === '') throw new MalformedMessageError(`${where} is empty`);
  const depth = jsonDepth(text);
  if (depth > limits.maxDepth) throw new MalformedMessageError(`${where} nests JSON ${depth} levels deep, over the limit of ${limits.maxDepth}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MalformedMessageError(`${where} is not JSON (${(err as Error).message}); starts with ${JSON.stringify(truncate(text, 40))}`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new MalformedMessageError(`${where} must be a JSON object, got ${typeName(doc)}`);
  }
  return doc as Json;
}

/** Deepest bracket nesting, skipping string contents: checked before JSON.parse builds anything. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return max;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function describeKeys(doc: Json): string {
  const keys = Object.keys(doc).slice(0, 8).map((k) => JSON.stringify(truncate(k, 30)));
  return keys.length ? keys.join(', ') : 'none';
}

function truncate(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
