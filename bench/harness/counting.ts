// Counters the bench wraps around the real adapters: how many messages were deleted, how many
// documents and pages were indexed and with which status. They pass every call through unchanged.
import { teeTelemetry, type Telemetry } from '../../src/telemetry/telemetry.ts';
import type { DocStatus, Extractor, ExtractorStats, ExtractRequest, ExtractResult, IndexItemResult, IndexOp, SearchIndex } from '../../src/types.ts';

export type WorkCounts = {
  deleted: number;
  docs: number;
  pages: number;
  ocrPages: number;
  textChars: number;
  statuses: Partial<Record<DocStatus, number>>;
};

export function newCounts(): WorkCounts {
  return { deleted: 0, docs: 0, pages: 0, ocrPages: 0, textChars: 0, statuses: {} };
}

/** Telemetry that passes everything to `base` and counts deletes (calling `onDeleted`). */
export function countingTelemetry(base: Telemetry, counts: WorkCounts, onDeleted: () => void): Telemetry {
  return teeTelemetry(base, {
    messagesDeleted(n) {
      counts.deleted += n;
      onDeleted();
    },
  });
}

/** A SearchIndex that counts the documents it was asked to store. */
export class CountingIndex implements SearchIndex {
  readonly kind: string;
  readonly #inner: SearchIndex;
  readonly #counts: WorkCounts;
  /** The inner index's lookups, passed through, so skipping and the extraction cache work as in production. */
  readonly states: SearchIndex['states'];
  readonly findByHash: SearchIndex['findByHash'];
  readonly scan: SearchIndex['scan'];
  constructor(inner: SearchIndex, counts: WorkCounts) {
    this.#inner = inner;
    this.#counts = counts;
    this.kind = inner.kind;
    this.states = inner.states?.bind(inner);
    this.findByHash = inner.findByHash?.bind(inner);
    this.scan = inner.scan?.bind(inner);
  }
  init(): Promise<void> {
    return this.#inner.init();
  }
  async write(ops: IndexOp[], signal?: AbortSignal): Promise<IndexItemResult[]> {
    const results = await this.#inner.write(ops, signal);
    ops.forEach((op, i) => {
      if (op.kind !== 'upsert' || !results[i]?.ok) return;
      const c = this.#counts;
      c.docs++;
      c.pages += op.doc.pages;
      c.ocrPages += op.doc.ocrPages;
      c.textChars += op.doc.text.length;
      c.statuses[op.doc.status] = (c.statuses[op.doc.status] ?? 0) + 1;
    });
    return results;
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** The control plane's extractor: answers at once with an empty one-page text document. */
export class NoopExtractor implements Extractor {
  #completed = 0;
  async extract(_req: ExtractRequest): Promise<ExtractResult> {
    this.#completed++;
    return { contentType: 'text/plain', text: '', truncated: false, pages: 1, ocrPages: 0, status: 'ok' };
  }
  stats(): ExtractorStats {
    return { threads: 0, queueSize: 0, utilization: 0, completed: this.#completed, warm: true };
  }
  async close(): Promise<void> {}
}

/** Wraps an extractor to sample how many of the pool's threads have a document, for "pool busy". */
export class BusyGauge implements Extractor {
  readonly #inner: Extractor;
  readonly #threads: number;
  #active = 0;
  #busySum = 0;
  #samples = 0;
  constructor(inner: Extractor, threads: number) {
    this.#inner = inner;
    this.#threads = Math.max(1, threads);
  }
  async extract(req: ExtractRequest, signal?: AbortSignal): Promise<ExtractResult> {
    this.#active++;
    try {
      return await this.#inner.extract(req, signal);
    } finally {
      this.#active--;
    }
  }
  /** Called on a timer while measuring. */
  sample(): void {
    this.#busySum += Math.min(this.#active, this.#threads);
    this.#samples++;
  }
  /** Mean share of the threads that had a document, over the samples. */
  busyShare(): number {
    return this.#samples ? this.#busySum / (this.#samples * this.#threads) : 0;
  }
  stats(): ExtractorStats {
    return this.#inner.stats();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
