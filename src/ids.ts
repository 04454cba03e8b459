// Document ids: a hash of bucket + key. S3 keys can be 1024 bytes; OpenSearch `_id` is at most 512.
import { createHash } from 'node:crypto';

export function documentId(bucket: string, key: string): string {
  return createHash('sha256').update(bucket).update('\0').update(key).digest('hex');
}

/**
 * A document id used as a file or object name (thumbnails): ids are hex hashes (documentId), so anything
 * else is refused before it can climb out of a folder or prefix.
 */
export function idAsFileName(docId: string): string {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(docId)) throw new TypeError(`unexpected document id ${JSON.stringify(docId)}`);
  return docId;
}

export function sourceOf(bucket: string, key: string): string {
  return bucket ? `s3://${bucket}/${key}` : key;
}

/** Last path segment of a key or path. */
export function nameOf(key: string): string {
  const trimmed = key.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

/**
 * Compares two S3 event sequencers for the same key: hex strings compared after right-padding the
 * shorter with zeros. Returns <0, 0, >0.
 */
export function compareSequencers(a: string, b: string): number {
  const len = Math.max(a.length, b.length);
  const pa = a.toUpperCase().padEnd(len, '0');
  const pb = b.toUpperCase().padEnd(len, '0');
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}
