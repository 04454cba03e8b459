// Builds the document the index stores from what the earlier stages learned about a task.
import { nameOf, sourceOf } from '../ids.ts';
import { detectLanguage } from './language.ts';
import type { DocStatus, ExtractResult, IndexDocument, ObjectRef, StoredState } from '../types.ts';
import type { Task } from '../flow/work.ts';
import { EXTRACTOR_VERSION } from '../workers/protocol.ts';

/**
 * Does the index already hold this version of the object, extracted by this extractor? Then its work
 * is done. A stored failure is not kept (it may have been a deadline); an event without an ETag or
 * version cannot be compared.
 */
export function isUpToDate(stored: StoredState | undefined, ref: ObjectRef): boolean {
  if (!stored || stored.status === 'failed' || stored.extractorVersion !== EXTRACTOR_VERSION) return false;
  if (ref.versionId) return stored.versionId === ref.versionId;
  return ref.etag !== undefined && stored.etag === ref.etag;
}

function base(task: Task): Omit<IndexDocument, 'contentType' | 'size' | 'status' | 'text' | 'truncated' | 'pages' | 'ocrPages'> {
  const ref = task.spec.ref;
  const file = task.file;
  const etag = file?.etag ?? ref.etag;
  const versionId = file?.versionId ?? ref.versionId;
  return {
    id: task.id,
    source: sourceOf(ref.bucket, ref.key),
    bucket: ref.bucket,
    key: ref.key,
    name: nameOf(ref.key),
    ...(etag ? { etag } : {}),
    ...(versionId ? { versionId } : {}),
    ...(ref.sequencer ? { sequencer: ref.sequencer } : {}),
    ...(file?.lastModified ? { lastModified: file.lastModified.toISOString() } : {}),
    ...(file?.sha256 ? { sha256: file.sha256 } : {}),
    extractorVersion: EXTRACTOR_VERSION,
    indexedAt: new Date().toISOString(),
  };
}

/** A document known by name and metadata only (too large, unsupported, failed before extraction). */
export function metadataDocument(task: Task, m: { size: number; status: DocStatus; error?: string; contentType?: string }): IndexDocument {
  return {
    ...base(task),
    contentType: m.contentType ?? task.file?.contentType ?? 'application/octet-stream',
    size: m.size,
    status: m.status,
    ...(m.error ? { error: m.error } : {}),
    text: '',
    truncated: false,
    pages: 0,
    ocrPages: 0,
  };
}

export function extractedDocument(task: Task, r: ExtractResult, thumbnail: string | undefined): IndexDocument {
  const language = r.text ? detectLanguage(r.text) : undefined;
  return {
    ...r.metadata,
    ...base(task),
    contentType: r.contentType,
    size: task.file?.size ?? task.spec.ref.size ?? 0,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    text: r.text,
    truncated: r.truncated,
    pages: r.pages,
    ocrPages: r.ocrPages,
    ...(thumbnail ? { thumbnail } : {}),
    ...(language ? { language } : {}),
  };
}

/**
 * An `ok` result with no text is worth a warning: only an image or a scanned PDF (OCR ran and found no
 * words) may honestly be empty; for any other format it means a reader missed something, or a blank file.
 */
export function unexpectedlyEmpty(r: ExtractResult): boolean {
  return r.status === 'ok' && r.text.trim() === '' && !r.contentType.startsWith('image/') && r.ocrPages === 0;
}

/**
 * What is stored when the index refuses a document: the same object by name and storage metadata
 * only, with status failed and the index's reason. Nothing extracted from the file (text, title,
 * language, …) is kept: any of it may be what the index refused.
 */
export function failedDocument(doc: IndexDocument, reason: string): IndexDocument {
  const { id, source, bucket, key, name, contentType, size, etag, versionId, sequencer, lastModified } = doc;
  return {
    id, source, bucket, key, name, contentType, size,
    ...(etag ? { etag } : {}),
    ...(versionId ? { versionId } : {}),
    ...(sequencer ? { sequencer } : {}),
    ...(lastModified ? { lastModified } : {}),
    status: 'failed', error: reason, text: '', truncated: false, pages: 0, ocrPages: 0, indexedAt: new Date().toISOString(),
  };
}
