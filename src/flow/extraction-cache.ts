// One extraction per content. Tasks whose bytes have the same SHA-256 share it: an extraction in flight
// is awaited (a re-delivered event, copies under several keys arriving together), a recent one is kept
// in a small in-memory LRU (its document may not be written yet), and an older one is found in the
// index itself (findByHash), where every document keeps its sha256 and extractorVersion. The index is
// the durable cache on purpose: no second store to size, back up or keep consistent with the documents,
// it works the same for SQLite and OpenSearch, and an entry goes when the last document with those bytes goes.
import type { DocStatus, ExtractResult, SearchIndex } from '../types.ts';
import { EXTRACTOR_VERSION } from '../workers/protocol.ts';

/** An extraction as documents reuse it: the result without thumbnail bytes, and where the thumbnail is. */
export type Extraction = { result: Omit<ExtractResult, 'thumbnail'>; thumbnail?: string };

export type ExtractionCacheOptions = { maxEntries: number; maxChars: number };

/** Results that depend only on the bytes. A failure may have been a deadline or a crash: never reused from memory or the index. */
const REUSABLE: ReadonlySet<DocStatus> = new Set<DocStatus>(['ok', 'partial', 'unsupported', 'encrypted']);

export class ExtractionCache {
  readonly #index: SearchIndex;
  readonly #opts: ExtractionCacheOptions;
  readonly #inFlight = new Map<string, Promise<Extraction>>();
  /** Insertion-ordered: the first entry is the least recently used. */
  readonly #recent = new Map<string, Extraction>();
  #recentChars = 0;

  constructor(index: SearchIndex, opts: ExtractionCacheOptions = { maxEntries: 64, maxChars: 4_000_000 }) {
    this.#index = index;
    this.#opts = opts;
  }

  /**
   * The extraction of the bytes with this hash: remembered, in flight, or in the index; else `extract()`
   * runs, once however many tasks ask at the same moment. `reused` says whether this caller's
   * extraction was saved.
   */
  async get(sha256: string, extract: () => Promise<Extraction>): Promise<{ value: Extraction; reused: boolean }> {
    const recent = this.#recent.get(sha256);
    if (recent) {
      this.#recent.delete(sha256);
      this.#recent.set(sha256, recent);
      return { value: recent, reused: true };
    }
    const pending = this.#inFlight.get(sha256);
    if (pending) return { value: await pending, reused: true };

    const run = (async () => {
      const found = await this.#fromIndex(sha256);
      return found ? { value: found, computed: false } : { value: await extract(), computed: true };
    })();
    const shared = run.then((r) => r.value);
    shared.catch(() => {}); // a failure reaches the waiters through `shared` and this caller through `run`
    this.#inFlight.set(sha256, shared);
    try {
      const r = await run;
      if (REUSABLE.has(r.value.result.status)) this.#remember(sha256, r.value);
      return { value: r.value, reused: !r.computed };
    } finally {
      this.#inFlight.delete(sha256);
    }
  }

  async #fromIndex(sha256: string): Promise<Extraction | undefined> {
    if (!this.#index.findByHash) return undefined;
    // A lookup that fails costs only the extraction it would have saved.
    const doc = await this.#index.findByHash(sha256, EXTRACTOR_VERSION).catch(() => undefined);
    if (!doc || !REUSABLE.has(doc.status)) return undefined;
    const { contentType, text, truncated, pages, ocrPages, status, error, thumbnail } = doc;
    return { result: { contentType, text, truncated, pages, ocrPages, status, ...(error ? { error } : {}) }, ...(thumbnail ? { thumbnail } : {}) };
  }

  #remember(sha256: string, e: Extraction): void {
    const chars = e.result.text.length;
    if (chars > this.#opts.maxChars || this.#recent.has(sha256)) return;
    this.#recent.set(sha256, e);
    this.#recentChars += chars;
    for (const [k, v] of this.#recent) {
      if (this.#recent.size <= this.#opts.maxEntries && this.#recentChars <= this.#opts.maxChars) break;
      this.#recent.delete(k);
      this.#recentChars -= v.result.text.length;
    }
  }
}
