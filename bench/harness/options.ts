// Every size and setting of the bench in one place: the full run and the --quick smoke run.
export type BenchOptions = {
  quick: boolean;
  /** Simulated network round trip per SQS call, ms. */
  rttMs: number;
  /** Each control-plane figure is the best of this many runs: other work on a shared machine only ever slows a run down. */
  controlPlane: { seedMessages: number; pipelineMessages: number; seedMessagesRtt: number; pipelineMessagesRtt: number; repeats: number };
  scaleOut: { processes: number[]; messages: number };
  stages: {
    receiveMessages: number;
    /** Object sizes downloaded and how many times each. */
    downloads: Array<{ label: string; bytes: number; count: number }>;
    /** Files of each type extracted per measurement (several at once, as the pipeline does); OCR'd pages: one per core. */
    extractCopies: number;
    indexDocs: number;
    /** Characters of text per indexed document. */
    indexTextChars: number;
  };
  fullWork: { mix: 'quick' | 'full'; poolSizes: number[] };
  /** idleSeconds: POOL_IDLE_SECONDS of the backlog run; the RSS at rest is taken IDLE_SETTLE_SECONDS after that. */
  memory: { bigPdfMb: number; bigPdfs: number; imageMegapixels: number; idleSeconds: number };
  ocrAccuracy: { enabled: boolean };
  /** Search latency: documents in the generated SQLite index and queries timed. */
  search: { documents: number; queries: number };
  /** RSS sampling period in the worker process, ms. */
  sampleMs: number;
};

const MB = 1024 * 1024;

export const FULL: BenchOptions = {
  quick: false,
  rttMs: 20,
  controlPlane: { seedMessages: 800, pipelineMessages: 3000, seedMessagesRtt: 200, pipelineMessagesRtt: 3000, repeats: 2 },
  scaleOut: { processes: [1, 2, 3], messages: 3000 },
  stages: {
    receiveMessages: 3000,
    downloads: [
      { label: '10 KB', bytes: 10 * 1024, count: 400 },
      { label: '1 MB', bytes: MB, count: 100 },
      { label: '10 MB', bytes: 10 * MB, count: 24 },
      { label: '50 MB', bytes: 50 * MB, count: 6 },
    ],
    extractCopies: 4,
    indexDocs: 2000,
    indexTextChars: 5000,
  },
  fullWork: { mix: 'full', poolSizes: [1, 2, 4] },
  // The production default POOL_IDLE_SECONDS.
  memory: { bigPdfMb: 50, bigPdfs: 2, imageMegapixels: 100, idleSeconds: 60 },
  ocrAccuracy: { enabled: true },
  search: { documents: 100_000, queries: 200 },
  sampleMs: 50,
};

export const QUICK: BenchOptions = {
  quick: true,
  rttMs: 20,
  controlPlane: { seedMessages: 60, pipelineMessages: 200, seedMessagesRtt: 30, pipelineMessagesRtt: 200, repeats: 1 },
  scaleOut: { processes: [1, 2], messages: 100 },
  stages: {
    receiveMessages: 100,
    downloads: [
      { label: '10 KB', bytes: 10 * 1024, count: 20 },
      { label: '1 MB', bytes: MB, count: 5 },
    ],
    extractCopies: 1,
    indexDocs: 200,
    indexTextChars: 2000,
  },
  // POOL_SIZE = cores reuses the pipeline run: the section is exercised without another worker.
  fullWork: { mix: 'quick', poolSizes: [2] },
  memory: { bigPdfMb: 3, bigPdfs: 1, imageMegapixels: 0.5, idleSeconds: 5 },
  ocrAccuracy: { enabled: false },
  // The CI smoke run exercises the section on a tenth of the index; its figures are not the target's.
  search: { documents: 10_000, queries: 50 },
  sampleMs: 50,
};
