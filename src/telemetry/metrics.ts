// Telemetry on prom-client. Every labelled series is created once in the constructor and its child
// kept, so the hot path (stageItem and friends) never builds a label object or a new series; gauges
// that mirror live state (queue depth, leases, pool) read their sources only when scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { GOVERNOR_ACTIONS, type GovernorAction, type SkipReason, type StageName, type StageOutcome, type Telemetry } from './telemetry.ts';
import { DOC_STATUSES, type DocStatus } from '../types.ts';

export const STAGE_NAMES = ['receive', 'download', 'extract', 'index', 'delete'] as const satisfies readonly StageName[];
export const STAGE_OUTCOMES = ['ok', 'retry', 'failed', 'skipped'] as const satisfies readonly StageOutcome[];
export const RELEASE_REASONS = ['retry', 'malformed', 'shutdown'] as const;
export const BULK_OUTCOMES = ['ok', 'partial', 'retry', 'failed'] as const;
export const SKIP_REASONS = ['unchanged', 'same_content'] as const satisfies readonly SkipReason[];

type ReleaseReason = (typeof RELEASE_REASONS)[number];
type BulkOutcome = (typeof BULK_OUTCOMES)[number];

/** 1 ms .. 5 min: cheap stages (receive, delete) sit at the low end, OCR'd documents at the high end. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

export type PrometheusTelemetryOptions = {
  /** Register Node's default metrics (process_resident_memory_bytes, nodejs_eventloop_lag_*, GC). */
  defaultMetrics?: boolean;
  /** Histogram buckets for stage and pool timings, seconds. */
  buckets?: readonly number[];
};

type Inc = { inc(n?: number): void };
type Observe = { observe(v: number): void };
type QueueSource = { labels: { queue: string }; read: () => { depth: number; capacity: number } };

/** Builds a record holding one pre-bound child per label value. */
function childrenBy<K extends string, C>(keys: readonly K[], make: (key: K) => C): Record<K, C> {
  const out = {} as Record<K, C>;
  for (const k of keys) out[k] = make(k);
  return out;
}

/** Calls a gauge source without letting one broken source fail the whole scrape. */
function safeRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

export class PrometheusTelemetry implements Telemetry {
  readonly registry: Registry;

  readonly #stageItems: Record<StageName, Record<StageOutcome, Inc>>;
  readonly #stageSeconds: Record<StageName, Observe>;
  readonly #poolWait: Histogram;
  readonly #poolRun: Histogram;
  readonly #emptyReceives: Counter;
  readonly #received: Counter;
  readonly #heartbeatExtended: Counter;
  readonly #heartbeatFailed: Counter;
  readonly #deleted: Counter;
  readonly #deleteFailed: Counter;
  readonly #released: Record<ReleaseReason, Inc>;
  readonly #bytes: Counter;
  readonly #ocrPages: Counter;
  readonly #ocrEngine: Gauge<'engine' | 'model' | 'reason'>;
  readonly #documents: Record<DocStatus, Inc>;
  readonly #withoutText: Counter;
  readonly #skipped: Record<SkipReason, Inc>;
  readonly #bulk: Record<BulkOutcome, Inc>;
  readonly #itemRetries: Counter;
  readonly #breakerOpen: Gauge;
  readonly #breakerChanges: Counter;
  readonly #memoryActions: Record<GovernorAction, Inc>;
  #memory: (() => { budgetBytes: number; rssBytes: number }) | undefined;

  readonly #queues = new Map<string, QueueSource>();
  #leases: (() => { count: number; oldestAgeSeconds: number }) | undefined;
  #pool: (() => { threads: number; queueSize: number; utilization: number }) | undefined;

  constructor(opts: PrometheusTelemetryOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    const buckets = [...(opts.buckets ?? SECONDS_BUCKETS)];
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    // A labelled counter whose every series exists (at 0) from the start, so rate() works at once.
    const labelledCounter = <K extends string>(name: string, help: string, label: string, keys: readonly K[]) => {
      const c = new Counter({ name, help, labelNames: [label], registers });
      return childrenBy(keys, (k) => {
        const labels = { [label]: k };
        c.inc(labels, 0);
        return c.labels(labels);
      });
    };

    this.#breakerOpen = new Gauge({
      name: 'filesearch_intake_breaker_open',
      help: 'Intake paused because this dependency keeps failing (1) or not (0).',
      labelNames: ['dependency'],
      registers,
    });
    this.#breakerChanges = new Counter({
      name: 'filesearch_intake_breaker_transitions_total',
      help: 'Times the intake breaker opened or closed, by dependency and new state.',
      labelNames: ['dependency', 'state'],
      registers,
    });
    for (const dependency of ['index', 'blobs']) {
      this.#breakerOpen.set({ dependency }, 0);
      for (const state of ['open', 'closed']) this.#breakerChanges.inc({ dependency, state }, 0);
    }

    const items = new Counter({
      name: 'filesearch_stage_items_total',
      help: 'Items that left each stage, by outcome (ok, retry, failed, skipped).',
      labelNames: ['stage', 'outcome'],
      registers,
    });
    this.#stageItems = childrenBy(STAGE_NAMES, (stage) =>
      childrenBy(STAGE_OUTCOMES, (outcome) => {
        items.inc({ stage, outcome }, 0);
        return items.labels({ stage, outcome });
      }),
    );
    const seconds = new Histogram({
      name: 'filesearch_stage_seconds',
      help: 'Time one item spent in a stage (not counting the wait in the queue before it), seconds.',
      labelNames: ['stage'],
      buckets,
      registers,
    });
    this.#stageSeconds = childrenBy(STAGE_NAMES, (stage) => {
      seconds.zero({ stage });
      return seconds.labels({ stage });
    });

    const queues = this.#queues;
    new Gauge({
      name: 'filesearch_queue_depth',
      help: 'Items waiting in the bounded queue between two stages.',
      labelNames: ['queue'],
      registers,
      collect() {
        for (const q of queues.values()) {
          const v = safeRead(q.read);
          if (v) this.set(q.labels, v.depth);
        }
      },
    });
    new Gauge({
      name: 'filesearch_queue_capacity',
      help: 'Capacity of the bounded queue between two stages.',
      labelNames: ['queue'],
      registers,
      collect() {
        for (const q of queues.values()) {
          const v = safeRead(q.read);
          if (v) this.set(q.labels, v.capacity);
        }
      },
    });

    const self = this;
    /** A gauge read at scrape time from a source registered later (watchPool, watchLeases, watchMemory). */
    const scrapedGauge = <T>(source: () => (() => T) | undefined, name: string, help: string, pick: (v: T) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const read = source();
          const v = read && safeRead(read);
          if (v) this.set(pick(v));
        },
      });
    type PoolStats = { threads: number; queueSize: number; utilization: number };
    const poolGauge = (name: string, help: string, pick: (p: PoolStats) => number) => scrapedGauge(() => self.#pool, name, help, pick);
    // Prometheus names a 0..1 share with the _ratio suffix.
    poolGauge('filesearch_pool_utilization_ratio', 'Share of the extract pool threads\' time spent running tasks (piscina utilization, 0..1).', (p) => p.utilization);
    poolGauge('filesearch_pool_utilization', 'DEPRECATED, removed in the next release: use filesearch_pool_utilization_ratio (same value).', (p) => p.utilization);
    poolGauge('filesearch_pool_queue_size', 'Tasks waiting for a free extract pool thread.', (p) => p.queueSize);
    poolGauge('filesearch_pool_threads', 'Threads in the extract pool.', (p) => p.threads);
    this.#poolWait = new Histogram({
      name: 'filesearch_pool_wait_seconds',
      help: 'Time an extract task waited for a pool thread, seconds.',
      buckets,
      registers,
    });
    this.#poolRun = new Histogram({
      name: 'filesearch_pool_run_seconds',
      help: 'Time an extract task ran on a pool thread, seconds.',
      buckets,
      registers,
    });

    const leaseGauge = (name: string, help: string, pick: (l: { count: number; oldestAgeSeconds: number }) => number) => scrapedGauge(() => self.#leases, name, help, pick);
    leaseGauge('filesearch_messages_in_flight', 'Messages received and not yet deleted or released (leases held).', (l) => l.count);
    leaseGauge('filesearch_oldest_message_age_seconds', 'Age of the oldest message still held, seconds.', (l) => l.oldestAgeSeconds);

    this.#received = counter('filesearch_messages_received_total', 'Messages received from the queue.');
    this.#emptyReceives = counter('filesearch_empty_receives_total', 'Receive calls (long polls) that returned no message.');
    this.#heartbeatExtended = counter('filesearch_heartbeat_extensions_total', 'Visibility extensions that succeeded (one per message).');
    this.#heartbeatFailed = counter('filesearch_heartbeat_failures_total', 'Visibility extensions that failed (one per message).');
    this.#deleted = counter('filesearch_messages_deleted_total', 'Messages deleted after their work was done.');
    this.#deleteFailed = counter('filesearch_delete_failures_total', 'Message deletes that failed (the message will be delivered again).');
    this.#released = labelledCounter('filesearch_messages_released_total', 'Messages given back to the queue, by reason.', 'reason', RELEASE_REASONS);
    this.#bytes = counter('filesearch_download_bytes_total', 'Bytes downloaded from the blob store.');
    this.#ocrPages = counter('filesearch_ocr_pages_total', 'Pages recognised by OCR.');
    this.#ocrEngine = new Gauge({ name: 'filesearch_ocr_engine_info', help: 'The OCR engine the pool runs (1), with the model and why it was chosen.', labelNames: ['engine', 'model', 'reason'], registers: [registry] });
    this.#documents = labelledCounter('filesearch_documents_total', 'Documents finished, by status.', 'status', DOC_STATUSES);
    this.#withoutText = counter('filesearch_documents_without_text_total', 'Documents extracted ok with no text that are neither images nor scans.');
    this.#skipped = labelledCounter('filesearch_documents_skipped_total', 'Documents whose download or extraction was skipped: unchanged in the index, or the same bytes already extracted.', 'reason', SKIP_REASONS);
    this.#bulk = labelledCounter('filesearch_bulk_requests_total', 'Bulk requests to the index, by outcome.', 'outcome', BULK_OUTCOMES);
    this.#itemRetries = counter('filesearch_index_item_retries_total', 'Documents re-sent to the index after a per-item rejection (429).');

    const memoryGauge = (name: string, help: string, pick: (m: { budgetBytes: number; rssBytes: number }) => number) => scrapedGauge(() => self.#memory, name, help, pick);
    memoryGauge('filesearch_memory_budget_bytes', 'Resident memory budget of the process and its children (MEMORY_LIMIT_MB, or the cgroup limit less headroom).', (m) => m.budgetBytes);
    memoryGauge('filesearch_memory_rss_bytes', 'Resident memory of the process and its children at the memory governor\'s last sample.', (m) => m.rssBytes);
    this.#memoryActions = labelledCounter(
      'filesearch_memory_governor_actions_total',
      'Memory governor actions: paused (admission stopped over the soft mark), thread_ended (over the hard mark), lean_retry, gave_up (indexed by name as too_large).',
      'action',
      GOVERNOR_ACTIONS,
    );

    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  }

  /** The exposition text a scrape returns. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of metricsText(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  stageItem(stage: StageName, outcome: StageOutcome, seconds: number): void {
    this.#stageItems[stage][outcome].inc();
    this.#stageSeconds[stage].observe(seconds);
  }

  watchQueue(name: string, read: () => { depth: number; capacity: number }): void {
    this.#queues.set(name, { labels: { queue: name }, read });
  }

  watchLeases(read: () => { count: number; oldestAgeSeconds: number }): void {
    this.#leases = read;
  }

  watchPool(read: () => { threads: number; queueSize: number; utilization: number }): void {
    this.#pool = read;
  }

  poolTask(waitSeconds: number, runSeconds: number): void {
    this.#poolWait.observe(waitSeconds);
    this.#poolRun.observe(runSeconds);
  }

  emptyReceive(): void {
    this.#emptyReceives.inc();
  }

  messagesReceived(n: number): void {
    this.#received.inc(n);
  }

  heartbeatExtended(n: number): void {
    this.#heartbeatExtended.inc(n);
  }

  heartbeatFailed(n: number): void {
    this.#heartbeatFailed.inc(n);
  }

  messagesDeleted(n: number): void {
    this.#deleted.inc(n);
  }

  deleteFailed(n: number): void {
    this.#deleteFailed.inc(n);
  }

  messageReleased(reason: ReleaseReason): void {
    this.#released[reason].inc();
  }

  bytesDownloaded(n: number): void {
    this.#bytes.inc(n);
  }

  pagesOcrd(n: number): void {
    this.#ocrPages.inc(n);
  }

  ocrEngine(choice: { kind: string; model: string; reason: string }): void {
    this.#ocrEngine.reset();
    this.#ocrEngine.set({ engine: choice.kind, model: choice.model, reason: choice.reason }, 1);
  }

  documentStatus(status: DocStatus): void {
    this.#documents[status].inc();
  }

  documentWithoutText(): void {
    this.#withoutText.inc();
  }

  documentSkipped(reason: SkipReason): void {
    this.#skipped[reason].inc();
  }

  bulkRequest(outcome: BulkOutcome): void {
    this.#bulk[outcome].inc();
  }

  indexItemRetries(n: number): void {
    this.#itemRetries.inc(n);
  }

  intakeBreaker(dependency: 'index' | 'blobs', open: boolean): void {
    this.#breakerOpen.set({ dependency }, open ? 1 : 0);
    this.#breakerChanges.inc({ dependency, state: open ? 'open' : 'closed' });
  }

  watchMemory(read: () => { budgetBytes: number; rssBytes: number }): void {
    this.#memory = read;
  }

  memoryAction(action: GovernorAction): void {
    this.#memoryActions[action].inc();
  }
}
