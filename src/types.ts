// The shapes that travel between stages and the interfaces of the outside world.
// Stages import only from here; adapters implement these interfaces.
import type { WorkerError } from './errors.ts';

/** Where an object lives. For the local (directory) mode, bucket is '' and key is the absolute path. */
export type ObjectRef = {
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
  /** S3 event sequencer (hex): orders events for one key. */
  sequencer?: string;
  /** Size from the event, when it says one: lets `too_large` be decided before downloading. */
  size?: number;
};

export type JobAction = 'upsert' | 'remove';

/** What a message asks for: one object to (re)index or remove. */
export type JobSpec = {
  ref: ObjectRef;
  action: JobAction;
  /** Redo the work even when the index holds this version or the same bytes were extracted (reprocess). */
  force?: boolean;
};

/**
 * One received unit of work (an SQS message, a local file). From receipt until it is acked or
 * released the source keeps it leased (SQS: a visibility heartbeat). A lease ends exactly once.
 */
export type Lease = {
  readonly id: string;
  /** ApproximateReceiveCount: 1 on first delivery. Drives the retry backoff. */
  readonly receiveCount: number;
  /** ms since epoch, when this process received it. */
  readonly receivedAt: number;
};

/** What a source hands over: a lease with its jobs, or a lease whose body could not be parsed. */
export type Delivery =
  | { lease: Lease; jobs: JobSpec[]; malformed?: undefined }
  | { lease: Lease; jobs?: undefined; malformed: WorkerError };

export type AckResult = { failed: Lease[] };

export interface JobSource {
  readonly kind: string;
  /**
   * Waits for up to `max` deliveries (SQS: one long poll). Resolves [] when idle; resolves (or
   * rejects with an AbortError) promptly once `signal` aborts.
   */
  receive(max: number, signal: AbortSignal): Promise<Delivery[]>;
  /** The work of these leases is done: delete them (at most 10). Returns the ones that failed. */
  ack(leases: Lease[]): Promise<AckResult>;
  /** Give a lease back, visible again after delaySeconds (0 = at once). */
  release(lease: Lease, delaySeconds: number): Promise<void>;
  /** Finite sources (a directory) say when they have nothing more to hand out; SQS never does. */
  exhausted?(): boolean;
  /** Number of leases held and the age of the oldest, for metrics. */
  inFlight(): { count: number; oldestAgeSeconds: number };
  /** Stop heartbeats and release resources. Leases still held are released (visibility 0). */
  close(): Promise<void>;
}

/** A downloaded object. Whoever ends the job's life calls dispose(). */
export type LocalFile = {
  path: string;
  size: number;
  contentType?: string;
  etag?: string;
  versionId?: string;
  lastModified?: Date;
  /** SHA-256 of the bytes (hex), computed while they were read: the key of the extraction cache. */
  sha256?: string;
  dispose(): Promise<void>;
};

export type DownloadOptions = {
  /** Private temp dir to create the file in, under a random name. */
  dir: string;
  /** Larger objects fail with TooLargeError before their body is read. */
  maxBytes: number;
  signal?: AbortSignal;
};

export interface BlobStore {
  /**
   * Fetches the object pinned to ref.versionId / ref.etag. Throws NotFoundError (object or that
   * version is gone), StaleEventError (object changed since the event), TooLargeError,
   * RetryableError.
   */
  download(ref: ObjectRef, opts: DownloadOptions): Promise<LocalFile>;
  /** Does an object exist at this key now? Used to ignore a remove event that a newer upload overtook. */
  exists(ref: ObjectRef): Promise<boolean>;
}

export interface ThumbnailSink {
  /** Stores a WebP thumbnail for a document and returns where it is (s3://… or a file path). */
  put(docId: string, webp: Uint8Array): Promise<string>;
  /**
   * Gives a document its own copy of a thumbnail this sink stored (`from`, as put returned it): a
   * document reusing another key's extraction must not point at a thumbnail that goes with that key.
   */
  copy(from: string, docId: string): Promise<string>;
  /** Deletes the thumbnails of removed documents; one that is not there is not an error. */
  remove(docIds: string[]): Promise<void>;
  /** Lets go of what the sink holds (an S3 client and its sockets); the sink is not used after. */
  close(): Promise<void>;
}

/** How a document ended, best first. `encrypted`: password-protected; its metadata is indexed, its text cannot be read. */
export const DOC_STATUSES = ['ok', 'partial', 'failed', 'unsupported', 'too_large', 'encrypted'] as const;
export type DocStatus = (typeof DOC_STATUSES)[number];

/**
 * What a document says about itself (PDF Info/XMP, OOXML/ODF core properties, OLE2 summary information,
 * EXIF, e-mail headers). Dates are ISO 8601 strings (structured-clonable, and what both indexes store).
 * Page, sheet and slide counts are `pages` on the result, not here.
 */
export type DocMetadata = {
  title?: string;
  authors?: string[];
  subject?: string;
  keywords?: string[];
  created?: string;
  modified?: string;
  /** The program that wrote the file ("Microsoft Excel", "Canon EOS 5D" firmware, "Outlook"...). */
  application?: string;
  /** EXIF: when the photo was taken. */
  taken?: string;
  /** EXIF orientation, 1–8. */
  orientation?: number;
  /** EXIF: camera make and model. */
  camera?: string;
  /** E-mail: To and Cc addresses (the sender is in `authors`, the subject in `title`, the date in `created`). */
  recipients?: string[];
  /** Files the search page cannot show but a desktop program can ("DocuWorks"). */
  openWith?: string;
};

export type ExtractLimits = {
  /** Max pages OCR'd per document. */
  maxOcrPages: number;
  /** Max characters of text kept; longer text is cut and marked truncated. */
  maxChars: number;
  /** Wall-clock deadline for one document, ms. */
  docTimeoutMs: number;
  /** Wall-clock deadline for one OCR'd page, ms. */
  pageTimeoutMs: number;
  /** Pixel limit for decoded images (sharp limitInputPixels). */
  maxPixels: number;
  /** Bytes (as RGBA) of decoded images, and separately of render canvases, one PDF page may hold; default MAX_PAGE_IMAGE_BYTES. */
  maxPageImageBytes?: number;
};

/** Sent to the extract pool: only structured-clonable data. */
export type ExtractRequest = {
  path: string;
  /** File name (last path segment of the key), for type detection by extension. */
  name: string;
  contentType?: string;
  size: number;
  limits: ExtractLimits;
  ocrLangs: string;
  wantThumbnail: boolean;
  /** The pool thread posts a ThreadStarted here when it starts the document (the memory governor's map of who holds what). */
  started?: import('node:worker_threads').MessagePort;
};

/** Which pool thread took a document. */
export type ThreadStarted = { threadId: number };

export type ExtractResult = {
  /** Detected type, e.g. application/pdf. */
  contentType: string;
  text: string;
  truncated: boolean;
  pages: number;
  ocrPages: number;
  status: DocStatus;
  error?: string;
  /** WebP bytes of the first page/image, about 400 px wide. */
  thumbnail?: Uint8Array;
  metadata?: DocMetadata;
};

export interface Extractor {
  extract(req: ExtractRequest, signal?: AbortSignal): Promise<ExtractResult>;
  /** Pool figures for metrics and readiness. */
  stats(): ExtractorStats;
  close(): Promise<void>;
}

export type ExtractorStats = {
  threads: number;
  queueSize: number;
  utilization: number;
  completed: number;
  warm: boolean;
};

/** One document as the index stores it: its S3 facts, what was extracted, and its own metadata. */
export type IndexDocument = DocMetadata & {
  id: string;
  /** s3://bucket/key or the local file path. */
  source: string;
  bucket: string;
  key: string;
  name: string;
  contentType: string;
  size: number;
  etag?: string;
  versionId?: string;
  sequencer?: string;
  lastModified?: string;
  status: DocStatus;
  error?: string;
  text: string;
  truncated: boolean;
  pages: number;
  ocrPages: number;
  thumbnail?: string;
  /** ISO 639-1 code of the text's main language ("ja", "en"); absent when too little text to tell. */
  language?: string;
  /** SHA-256 of the object's bytes (hex): documents with the same bytes share one extraction. */
  sha256?: string;
  /** EXTRACTOR_VERSION (src/workers/protocol.ts) of the code that extracted it. */
  extractorVersion?: number;
  indexedAt: string;
};

/** What the index holds about a document: enough to tell whether its work is already done. */
export type StoredState = {
  id: string;
  key: string;
  etag?: string;
  versionId?: string;
  sha256?: string;
  extractorVersion?: number;
  status: DocStatus;
};

export type IndexOp =
  | { kind: 'upsert'; doc: IndexDocument }
  | { kind: 'remove'; id: string; sequencer?: string };

/** Outcome of one op; `stale` means a newer version was already indexed and this op was dropped. */
export type IndexItemResult = { ok: true; stale?: boolean } | { ok: false; error: WorkerError };

export interface SearchIndex {
  readonly kind: string;
  /** Creates the index / schema if absent. */
  init(): Promise<void>;
  /** Cheap proof the index answers and accepts our writes (no document changes); throws a classified error. */
  checkWritable?(): Promise<void>;
  /** Applies ops; resolves with one result per op, in order. Throws only if nothing could be tried. */
  write(ops: IndexOp[], signal?: AbortSignal): Promise<IndexItemResult[]>;
  /** What the index holds for these ids (absent: not indexed). Lets work already done be skipped. */
  states?(ids: string[]): Promise<Map<string, StoredState>>;
  /** A document extracted by this EXTRACTOR_VERSION from bytes with this SHA-256, if one is indexed. */
  findByHash?(sha256: string, extractorVersion: number): Promise<IndexDocument | undefined>;
  /** Every document of a bucket under a key prefix, in id order (backfill, reconcile, reprocess). */
  scan?(bucket: string, prefix: string): AsyncIterable<StoredState>;
  close(): Promise<void>;
}

// The typed metadata fields of an indexed document, in one place: the SQLite columns, the OpenSearch
// mapping and `dump` are all derived from this table, so a new field is added here and nowhere else.

/**
 * text: searchable words (and exact match); list: several exact values (authors, keywords);
 * keyword: one exact value; date: ISO 8601; integer.
 */
export type FieldKind = 'text' | 'list' | 'keyword' | 'date' | 'integer';

export const METADATA_FIELDS = {
  title: 'text',
  authors: 'list',
  subject: 'text',
  keywords: 'list',
  created: 'date',
  modified: 'date',
  application: 'keyword',
  taken: 'date',
  orientation: 'integer',
  camera: 'keyword',
  recipients: 'list',
  openWith: 'keyword',
  language: 'keyword',
} as const satisfies Record<keyof DocMetadata | 'language', FieldKind>;

export type MetadataField = keyof typeof METADATA_FIELDS;

export const METADATA_FIELD_NAMES = Object.keys(METADATA_FIELDS) as MetadataField[];

/** camelCase field -> snake_case column (openWith -> open_with). */
export function columnOf(field: MetadataField): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
