// All configuration: every tunable's default in one object (DEFAULTS, keyed by its environment
// variable), the environment read once, every bad value reported with its variable name, the value and
// what is allowed. The rest of the code receives a typed Config of parsed values (no URL is parsed
// twice) and holds no defaults of its own.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { ConfigError, redactUrl } from './errors.ts';

/** Pool threads per EC2/ECS instance type: one OCR thread per vCPU. */
export const INSTANCE_PRESETS: Readonly<Record<string, number>> = {
  't3.small': 2, 't3.medium': 2, 't3.large': 2, 't3.xlarge': 4, 't3.2xlarge': 8,
  'm7i.large': 2, 'm7i.xlarge': 4, 'm7i.2xlarge': 8, 'm7i.4xlarge': 16,
  'c7i.large': 2, 'c7i.xlarge': 4, 'c7i.2xlarge': 8, 'c7i.4xlarge': 16,
  'c7g.large': 2, 'c7g.xlarge': 4, 'c7g.2xlarge': 8, 'c7g.4xlarge': 16,
  'm7g.large': 2, 'm7g.xlarge': 4, 'm7g.2xlarge': 8,
};

/**
 * Where documents are indexed (INDEX_URL). Credentials in an OpenSearch URL are split out into `auth`
 * (basic); loadConfig then settles the auth with INDEX_AUTH (SigV4 for AWS hosts by default).
 */
export type IndexTarget =
  | { kind: 'sqlite'; path: string }
  | { kind: 'opensearch'; node: string; index: string; auth: IndexAuth };

/** Where thumbnails are written (THUMBNAIL_URL). */
export type ThumbnailTarget = { kind: 's3'; bucket: string; prefix: string } | { kind: 'dir'; path: string };

export type Config = {
  queue: {
    url: string | undefined;
    /** Messages per ReceiveMessage call, 1..10. */
    batchSize: number;
    /** Long-poll wait, 0..20 s. */
    waitTimeSeconds: number;
    /** Concurrent long polls. */
    pollers: number;
    /** Visibility given at receive and renewed by the heartbeat, s. */
    visibilityTimeoutSeconds: number;
    /** Heartbeat period, s (must be well under the visibility timeout). */
    heartbeatSeconds: number;
    /** Backoff for a retryable failure: base * 2^(receiveCount-1), capped. */
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    /** Delete batching: flushed at deleteBatchSize (SQS allows 10) or after this many ms. */
    deleteFlushMs: number;
    deleteBatchSize: number;
    /** DeleteMessageBatch calls in flight at once. */
    deleteConcurrency: number;
    /** Retries of the entries of a delete batch that failed, after deleteRetryBaseMs·2^attempt. */
    deleteRetries: number;
    deleteRetryBaseMs: number;
  };
  s3: { forcePathStyle: boolean };
  index: IndexTarget;
  /** Intake circuit breaker: stop receiving while the index or S3 keeps failing. */
  breaker: {
    /** Consecutive dependency failures that open it. */
    threshold: number;
    /** First probe interval, s; doubles up to probeMaxSeconds. */
    probeSeconds: number;
    probeMaxSeconds: number;
    /** Failed tasks held (leases kept invisible by the heartbeat) while open; more are released. */
    holdMax: number;
  };
  /** The `reindex` command: how long bulk requests that resolved the alias before the swap may still land on the old index. */
  reindex: { settleSeconds: number };
  thumbnails: ThumbnailTarget | undefined;
  pool: {
    size: number;
    source: 'POOL_SIZE' | 'INSTANCE_TYPE' | 'cores';
    ocrLangs: string;
    /** auto: the tesseract CLI when it has the languages, else tesseract's WASM core in the pool thread. */
    ocrEngine: 'auto' | 'native' | 'wasm';
    /** tessdata_fast (shipped) or best_int (@tesseract.js-data packages). */
    ocrModel: 'fast' | 'best';
    recycleAfterPages: number;
    maxWorkerMemoryMb: number;
    /** A pool thread idle this long ends (its heap, caches and OCR engine go); 0: threads stay. */
    idleSeconds: number;
  };
  stages: {
    /** Bounded queue capacities between stages. */
    queueCapacity: number;
    downloadConcurrency: number;
    /** In-flight download bytes budget. */
    downloadBytesBudget: number;
    /** Bytes reserved in the download budget for an object whose size is not known before download. */
    unknownSizeReserve: number;
    /** Concurrent extract tasks handed to the pool (pool size + a little to keep threads busy). */
    extractConcurrency: number;
    /** Bytes of documents being extracted at once: large files do not pile up in memory together. */
    extractBytesBudget: number;
    indexBatchSize: number;
    indexBatchBytes: number;
    indexFlushMs: number;
    /** Index batches being written at once. */
    indexConcurrency: number;
  };
  limits: {
    maxBytes: number;
    maxOcrPages: number;
    maxChars: number;
    docTimeoutMs: number;
    pageTimeoutMs: number;
    maxPixels: number;
    maxPageImageBytes: number;
  };
  memory: {
    /** Process tree RSS the memory governor keeps the worker under, bytes. */
    budgetBytes: number;
    /** Where the budget came from: MEMORY_LIMIT_MB, the container's cgroup limit, or the default. */
    source: 'MEMORY_LIMIT_MB' | 'cgroup' | 'default';
    /** Shares of the budget: above soft no document is admitted to the pool; above hard the heaviest is ended. */
    softShare: number;
    hardShare: number;
    sampleMs: number;
  };
  /** `serve`: the read-only search page and API. */
  serve: {
    host: string;
    port: number;
    /** Bearer token; required when host is not loopback. */
    token: string | undefined;
    maxPageSize: number;
    maxTextChars: number;
    maxUrlBytes: number;
    /** Lifetime of a presigned S3 thumbnail URL, s. */
    thumbnailLinkSeconds: number;
    /** How long `search`, `dump` and `serve` wait for one OpenSearch request, ms. */
    indexTimeoutMs: number;
    maxConnections: number;
    /** Requests answered at once; more get a 503 at once. */
    maxConcurrentRequests: number;
  };
  tmpDir: string;
  metricsPort: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  shutdownTimeoutMs: number;
};

export const DEFAULTS = {
  QUEUE_BATCH_SIZE: 10,
  QUEUE_WAIT_SECONDS: 20,
  QUEUE_POLLERS: 2,
  VISIBILITY_TIMEOUT_SECONDS: 60,
  HEARTBEAT_SECONDS: 20,
  RETRY_BASE_SECONDS: 10,
  RETRY_MAX_SECONDS: 900,
  DELETE_FLUSH_MS: 100,
  DELETE_BATCH_SIZE: 10,
  DELETE_CONCURRENCY: 4,
  DELETE_RETRIES: 3,
  DELETE_RETRY_BASE_MS: 100,
  INDEX_URL: 'sqlite:./data/index.db',
  INDEX_AUTH: 'auto',
  BREAKER_THRESHOLD: 5,
  BREAKER_PROBE_SECONDS: 5,
  BREAKER_PROBE_MAX_SECONDS: 60,
  BREAKER_HOLD_MAX: 200,
  REINDEX_SETTLE_SECONDS: 10,
  S3_FORCE_PATH_STYLE: false,
  OCR_LANGS: 'eng+jpn',
  OCR_ENGINE: 'auto',
  OCR_MODEL: 'fast',
  RECYCLE_AFTER_PAGES: 200,
  MAX_WORKER_MEMORY_MB: 200,
  /** A worker at rest holds the main thread only (~100 MB instead of ~230 MB with two warm threads). */
  POOL_IDLE_SECONDS: 60,
  QUEUE_CAPACITY: 8,
  DOWNLOAD_CONCURRENCY: 32,
  DOWNLOAD_BYTES_BUDGET: 128 * 1024 * 1024,
  UNKNOWN_SIZE_RESERVE: 8 * 1024 * 1024,
  EXTRACT_BYTES_BUDGET: 64 * 1024 * 1024,
  INDEX_BATCH_SIZE: 100,
  INDEX_BATCH_BYTES: 5 * 1024 * 1024,
  INDEX_FLUSH_MS: 200,
  INDEX_CONCURRENCY: 2,
  MAX_BYTES: 200 * 1024 * 1024,
  MAX_OCR_PAGES: 50,
  MAX_CHARS: 1_000_000,
  DOC_TIMEOUT_MS: 300_000,
  PAGE_TIMEOUT_MS: 60_000,
  MAX_PIXELS: 100_000_000,
  MAX_PAGE_IMAGE_BYTES: 96 * 1024 * 1024,
  /** Without MEMORY_LIMIT_MB or a cgroup limit: the budget of a worker on a 2-vCPU, 4 GB t3.medium. */
  MEMORY_LIMIT_MB: 500,
  MEMORY_SOFT_PERCENT: 75,
  MEMORY_HARD_PERCENT: 85,
  MEMORY_SAMPLE_MS: 100,
  METRICS_PORT: 9464,
  LOG_LEVEL: 'info',
  SHUTDOWN_TIMEOUT_MS: 25_000,
  SERVE_HOST: '127.0.0.1',
  SERVE_PORT: 8080,
  SERVE_MAX_PAGE_SIZE: 100,
  SERVE_MAX_TEXT_CHARS: 500_000,
  SERVE_MAX_URL_BYTES: 4096,
  SERVE_THUMBNAIL_LINK_SECONDS: 300,
  SERVE_INDEX_TIMEOUT_MS: 10_000,
  SERVE_MAX_CONNECTIONS: 64,
  SERVE_MAX_CONCURRENT_REQUESTS: 16,
} as const;

type Env = Record<string, string | undefined>;

/**
 * What the process must be STARTED with: glibc reads its malloc settings and V8 its heap sizes before
 * any of our code runs, so nothing can set them later. The Dockerfile (ENV) and `npm start` set these;
 * test/deploy-files.test.ts checks both, and the bench starts its worker processes with them (README
 * "Memory" has the figures).
 * - MALLOC_ARENA_MAX 2: the pool, libvips and tesseract threads share two arenas instead of up to
 *   8 per core, each keeping its own freed memory.
 * - MALLOC_MMAP_THRESHOLD_ 32 KiB, fixed: every block from 32 KiB up (stream chunks, decoded images, file
 *   bytes, canvases) is its own mapping, returned to the system when freed, instead of leaving holes in
 *   the heap that free() cannot give back (glibc's default: 128 KiB, raised after each big free up to 32 MiB).
 * - NODE_OPTIONS --max-semi-space-size=4: V8's young generation (semi-spaces of 4 MB) in every isolate;
 *   the main thread's otherwise grows to 2 x 32 MB under load. It also sets the pool threads' (their
 *   resourceLimits say the same, THREAD_YOUNG_MB in src/pool/extract-pool.ts, for a process started without it).
 */
export const PROCESS_ENV = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '32768',
  NODE_OPTIONS: '--max-semi-space-size=4',
} as const;

/**
 * jemalloc in place of glibc's malloc, as sharp's documentation advises for long-running processes on
 * glibc Linux: glibc keeps the holes that decoded images, canvases and pool threads leave behind, jemalloc
 * gives freed pages back (its background thread, after a second). The image installs Debian's libjemalloc2
 * and sets these (test/deploy-files.test.ts checks it); the glibc settings above then go unused.
 * Measured at rest after the bench's memory backlog: 192 MB with glibc, 147-157 with jemalloc.
 * - narenas 2: as MALLOC_ARENA_MAX, few arenas each keeping its own free pages.
 * - dirty_decay_ms 1000, muzzy_decay_ms 0: freed pages go back to the system within a second.
 */
export const JEMALLOC_ENV = {
  LD_PRELOAD: 'libjemalloc.so.2',
  MALLOC_CONF: 'background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0',
} as const;

/** Where Debian and most distributions put libjemalloc.so.2 (LD_PRELOAD searches the same places). */
const LIB_DIRS = [`/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '/usr/lib64', '/usr/lib', '/usr/local/lib'];

/**
 * The environment a process this project starts itself (bench workers, the memory proof) gets, like the
 * image's: PROCESS_ENV, and JEMALLOC_ENV when the library is installed here (a missing preload would
 * only print an error from every process started, tesseract included).
 */
export function startEnv(): Record<string, string> {
  const jemalloc = LIB_DIRS.some((dir) => existsSync(`${dir}/${JEMALLOC_ENV.LD_PRELOAD}`));
  return { ...PROCESS_ENV, ...(jemalloc ? JEMALLOC_ENV : {}) };
}

function int(env: Env, name: keyof typeof DEFAULTS | string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  // Decimal digits only: Number() would also take "0x1F90", "1e3" and " 8080 ".
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be an integer ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

// How OpenSearch requests authenticate (INDEX_AUTH), settled from the URL and the environment:
//   auto   sigv4 for *.amazonaws.com, basic when the URL has user info, else none.
// The SigV4 service is `es` for OpenSearch Service domains and `aoss` for Serverless collections,
// read from the host name unless INDEX_AWS_SERVICE says otherwise.
export const INDEX_AUTH_MODES = ['auto', 'sigv4', 'basic', 'none'] as const;
export type IndexAuthMode = (typeof INDEX_AUTH_MODES)[number];
export type AwsSigningService = 'es' | 'aoss';

export type IndexAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'sigv4'; region: string; service: AwsSigningService };

const AWS_HOST = /\.amazonaws\.com$/i;
/** search-x.eu-west-1.es.amazonaws.com, vpc-x.eu-west-1.es.amazonaws.com, id.us-east-1.aoss.amazonaws.com */
const AWS_SERVICE_HOST = /\.([a-z]{2}(?:-[a-z]+)+-\d)\.(es|aoss)\.amazonaws\.com$/i;

/**
 * Decides how to authenticate to `target.node` (origin only); `target.auth` holds the user info that
 * INDEX_URL carried, if any (basic).
 */
export function resolveIndexAuth(target: { node: string; auth: IndexAuth }, mode: IndexAuthMode, env: { region?: string; service?: string } = {}): IndexAuth {
  const url = new URL(target.node);
  const basic = target.auth.kind === 'basic' ? target.auth : undefined;
  const fromHost = AWS_SERVICE_HOST.exec(url.hostname);
  const effective = mode !== 'auto' ? mode : AWS_HOST.test(url.hostname) ? 'sigv4' : basic ? 'basic' : 'none';
  const shown = basic ? `${url.protocol}//${basic.username}:***@${url.host}` : target.node;
  if (effective === 'basic') {
    if (!basic) throw new ConfigError('INDEX_AUTH', `basic needs user:password in INDEX_URL (https://user:password@host/index), got ${JSON.stringify(shown)}`);
    return basic;
  }
  if (effective === 'none') return { kind: 'none' };
  if (basic) throw new ConfigError('INDEX_URL', `must not carry user info when requests are signed with SigV4 (INDEX_AUTH=${mode}), got ${JSON.stringify(shown)}`);
  const region = fromHost?.[1]?.toLowerCase() ?? env.region;
  if (!region) throw new ConfigError('AWS_REGION', `is needed to sign OpenSearch requests: the host ${url.hostname} does not name a region`);
  const service = env.service || fromHost?.[2]?.toLowerCase() || 'es';
  if (service !== 'es' && service !== 'aoss') throw new ConfigError('INDEX_AWS_SERVICE', `must be es (OpenSearch Service) or aoss (Serverless), got ${JSON.stringify(service)}`);
  return { kind: 'sigv4', region, service };
}

/** Parses INDEX_URL: sqlite:PATH or http(s)://[user:password@]host[:port]/index. */
export function parseIndexUrl(raw: string): IndexTarget {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (!path) throw new ConfigError('INDEX_URL', `sqlite: needs a file path, got ${JSON.stringify(raw)}`);
    return { kind: 'sqlite', path };
  }
  if (/^https?:\/\//.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new ConfigError('INDEX_URL', `is not a valid URL, got ${JSON.stringify(redactUrl(raw))}`);
    }
    const index = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
    if (!index || index.includes('/') || !/^[a-z0-9][a-z0-9._-]*$/.test(index)) {
      throw new ConfigError('INDEX_URL', `must name one lowercase OpenSearch index or alias as its path (http://host:9200/files), got ${JSON.stringify(redactUrl(raw))}`);
    }
    const node = `${u.protocol}//${u.host}`;
    if (!u.username) return { kind: 'opensearch', node, index, auth: { kind: 'none' } };
    return { kind: 'opensearch', node, index, auth: { kind: 'basic', username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } };
  }
  throw new ConfigError('INDEX_URL', `must be sqlite:PATH or http(s)://host:port/index, got ${JSON.stringify(redactUrl(raw))}`);
}

/** Parses THUMBNAIL_URL: s3://bucket/prefix, file:PATH or a folder path. */
export function parseThumbnailUrl(raw: string): ThumbnailTarget {
  if (raw.startsWith('s3://')) {
    const rest = raw.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+/, '');
    if (!bucket) throw new ConfigError('THUMBNAIL_URL', `s3:// needs a bucket, got ${JSON.stringify(raw)}`);
    return { kind: 's3', bucket, prefix };
  }
  if (raw.startsWith('file:')) return { kind: 'dir', path: raw.slice(5) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw new ConfigError('THUMBNAIL_URL', `must be s3://bucket/prefix or a folder path, got ${JSON.stringify(raw)}`);
  return { kind: 'dir', path: raw };
}

function serveHost(env: Env): string {
  const host = env.SERVE_HOST || DEFAULTS.SERVE_HOST;
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new ConfigError('SERVE_HOST', `must be an IP address or host name, got ${JSON.stringify(host)}`);
  return host;
}

function serveToken(env: Env): string | undefined {
  const token = env.SERVE_TOKEN || undefined;
  if (token !== undefined && (token.length < 16 || /[\s;,]/.test(token))) {
    throw new ConfigError('SERVE_TOKEN', 'must be at least 16 characters with no spaces, commas or semicolons (e.g. `openssl rand -hex 24`)');
  }
  return token;
}

/** Pool size: explicit POOL_SIZE, else a preset from INSTANCE_TYPE, else the machine's cores. */
export function resolvePoolSize(env: Env, cores = os.availableParallelism()): { size: number; source: Config['pool']['source'] } {
  if (env.POOL_SIZE) return { size: int(env, 'POOL_SIZE', cores, 1, 256), source: 'POOL_SIZE' };
  const type = env.INSTANCE_TYPE;
  if (type) {
    const preset = INSTANCE_PRESETS[type];
    if (!preset) {
      throw new ConfigError('INSTANCE_TYPE', `has no preset (set POOL_SIZE instead); known: ${Object.keys(INSTANCE_PRESETS).join(', ')}; got ${JSON.stringify(type)}`);
    }
    return { size: preset, source: 'INSTANCE_TYPE' };
  }
  return { size: Math.max(1, cores), source: 'cores' };
}

const OCR_LANG_RE = /^[a-z_]{3,10}(\+[a-z_]{3,10})*$/;

const MiB = 1024 * 1024;
/** Kept out of the budget under a cgroup limit: the kernel counts page cache and the runtime's own slack too. */
const CGROUP_HEADROOM = { share: 0.1, minBytes: 64 * MiB };

/** The container's memory limit: cgroup v2 memory.max, else v1 memory.limit_in_bytes; undefined when unlimited. */
export function cgroupLimitBytes(read: (file: string) => string | undefined = readText): number | undefined {
  const v2 = read('/sys/fs/cgroup/memory.max')?.trim();
  if (v2 && v2 !== 'max' && /^\d+$/.test(v2)) return Number(v2);
  const v1 = read('/sys/fs/cgroup/memory/memory.limit_in_bytes')?.trim();
  // v1 says "unlimited" with a page-rounded 2^63.
  if (v1 && /^\d+$/.test(v1) && Number(v1) < 2 ** 60) return Number(v1);
  return undefined;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function memoryConfig(env: Env, cgroupLimit: () => number | undefined = cgroupLimitBytes): Config['memory'] {
  const soft = int(env, 'MEMORY_SOFT_PERCENT', DEFAULTS.MEMORY_SOFT_PERCENT, 10, 99);
  const hard = int(env, 'MEMORY_HARD_PERCENT', DEFAULTS.MEMORY_HARD_PERCENT, 11, 100);
  if (hard <= soft) throw new ConfigError('MEMORY_HARD_PERCENT', `must be above MEMORY_SOFT_PERCENT (${soft}), got ${hard}`);
  const common = { softShare: soft / 100, hardShare: hard / 100, sampleMs: int(env, 'MEMORY_SAMPLE_MS', DEFAULTS.MEMORY_SAMPLE_MS, 10, 10_000) };
  if (env.MEMORY_LIMIT_MB) return { ...common, budgetBytes: int(env, 'MEMORY_LIMIT_MB', DEFAULTS.MEMORY_LIMIT_MB, 128, 1_048_576) * MiB, source: 'MEMORY_LIMIT_MB' };
  const limit = cgroupLimit();
  if (limit !== undefined) {
    const budget = Math.max(limit / 2, limit - Math.max(CGROUP_HEADROOM.minBytes, limit * CGROUP_HEADROOM.share));
    return { ...common, budgetBytes: Math.floor(budget), source: 'cgroup' };
  }
  return { ...common, budgetBytes: DEFAULTS.MEMORY_LIMIT_MB * MiB, source: 'default' };
}

export function loadConfig(env: Env = process.env): Config {
  const pool = resolvePoolSize(env);
  const visibility = int(env, 'VISIBILITY_TIMEOUT_SECONDS', DEFAULTS.VISIBILITY_TIMEOUT_SECONDS, 10, 43_200);
  const heartbeat = int(env, 'HEARTBEAT_SECONDS', Math.min(DEFAULTS.HEARTBEAT_SECONDS, Math.floor(visibility / 3)), 1, 43_200);
  if (heartbeat * 2 > visibility) {
    throw new ConfigError('HEARTBEAT_SECONDS', `must be at most half of VISIBILITY_TIMEOUT_SECONDS (${visibility}), got ${heartbeat}`);
  }
  const ocrLangs = env.OCR_LANGS || DEFAULTS.OCR_LANGS;
  if (!OCR_LANG_RE.test(ocrLangs)) throw new ConfigError('OCR_LANGS', `must be tesseract codes joined by + (eng+jpn), got ${JSON.stringify(ocrLangs)}`);
  const parsedIndex = parseIndexUrl(env.INDEX_URL || DEFAULTS.INDEX_URL);
  const indexAuthMode = oneOf(env, 'INDEX_AUTH', DEFAULTS.INDEX_AUTH, INDEX_AUTH_MODES);
  const index: IndexTarget = parsedIndex.kind === 'opensearch'
    ? { ...parsedIndex, auth: resolveIndexAuth(parsedIndex, indexAuthMode, { region: env.AWS_REGION || env.AWS_DEFAULT_REGION, service: env.INDEX_AWS_SERVICE || undefined }) }
    : parsedIndex;
  const probeSeconds = int(env, 'BREAKER_PROBE_SECONDS', DEFAULTS.BREAKER_PROBE_SECONDS, 1, 3600);
  const thumbnails = env.THUMBNAIL_URL ? parseThumbnailUrl(env.THUMBNAIL_URL) : undefined;
  const queueUrl = env.QUEUE_URL || undefined;
  if (queueUrl && !/^https?:\/\//.test(queueUrl)) throw new ConfigError('QUEUE_URL', `must be an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), got ${JSON.stringify(redactUrl(queueUrl))}`);
  const retryBase = int(env, 'RETRY_BASE_SECONDS', DEFAULTS.RETRY_BASE_SECONDS, 0, 43_200);
  const retryMax = int(env, 'RETRY_MAX_SECONDS', DEFAULTS.RETRY_MAX_SECONDS, 0, 43_200);
  if (retryMax < retryBase) throw new ConfigError('RETRY_MAX_SECONDS', `must be >= RETRY_BASE_SECONDS (${retryBase}), got ${retryMax}`);

  return {
    queue: {
      url: queueUrl,
      batchSize: int(env, 'QUEUE_BATCH_SIZE', DEFAULTS.QUEUE_BATCH_SIZE, 1, 10),
      waitTimeSeconds: int(env, 'QUEUE_WAIT_SECONDS', DEFAULTS.QUEUE_WAIT_SECONDS, 0, 20),
      pollers: int(env, 'QUEUE_POLLERS', DEFAULTS.QUEUE_POLLERS, 1, 64),
      visibilityTimeoutSeconds: visibility,
      heartbeatSeconds: heartbeat,
      retryBaseSeconds: retryBase,
      retryMaxSeconds: retryMax,
      deleteFlushMs: int(env, 'DELETE_FLUSH_MS', DEFAULTS.DELETE_FLUSH_MS, 0, 10_000),
      deleteBatchSize: int(env, 'DELETE_BATCH_SIZE', DEFAULTS.DELETE_BATCH_SIZE, 1, 10),
      deleteConcurrency: int(env, 'DELETE_CONCURRENCY', DEFAULTS.DELETE_CONCURRENCY, 1, 64),
      deleteRetries: int(env, 'DELETE_RETRIES', DEFAULTS.DELETE_RETRIES, 0, 20),
      deleteRetryBaseMs: int(env, 'DELETE_RETRY_BASE_MS', DEFAULTS.DELETE_RETRY_BASE_MS, 0, 60_000),
    },
    s3: { forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', DEFAULTS.S3_FORCE_PATH_STYLE) },
    index,
    breaker: {
      threshold: int(env, 'BREAKER_THRESHOLD', DEFAULTS.BREAKER_THRESHOLD, 1, 10_000),
      probeSeconds,
      probeMaxSeconds: int(env, 'BREAKER_PROBE_MAX_SECONDS', Math.max(probeSeconds, DEFAULTS.BREAKER_PROBE_MAX_SECONDS), probeSeconds, 3600),
      holdMax: int(env, 'BREAKER_HOLD_MAX', DEFAULTS.BREAKER_HOLD_MAX, 0, 100_000),
    },
    reindex: { settleSeconds: int(env, 'REINDEX_SETTLE_SECONDS', DEFAULTS.REINDEX_SETTLE_SECONDS, 0, 3600) },
    thumbnails,
    pool: {
      size: pool.size,
      source: pool.source,
      ocrLangs,
      ocrEngine: oneOf(env, 'OCR_ENGINE', DEFAULTS.OCR_ENGINE, ['auto', 'native', 'wasm'] as const),
      ocrModel: oneOf(env, 'OCR_MODEL', DEFAULTS.OCR_MODEL, ['fast', 'best'] as const),
      recycleAfterPages: int(env, 'RECYCLE_AFTER_PAGES', DEFAULTS.RECYCLE_AFTER_PAGES, 1, 1_000_000),
      maxWorkerMemoryMb: int(env, 'MAX_WORKER_MEMORY_MB', DEFAULTS.MAX_WORKER_MEMORY_MB, 64, 65_536),
      idleSeconds: int(env, 'POOL_IDLE_SECONDS', DEFAULTS.POOL_IDLE_SECONDS, 0, 86_400),
    },
    stages: {
      queueCapacity: int(env, 'QUEUE_CAPACITY', DEFAULTS.QUEUE_CAPACITY, 1, 10_000),
      downloadConcurrency: int(env, 'DOWNLOAD_CONCURRENCY', DEFAULTS.DOWNLOAD_CONCURRENCY, 1, 256),
      downloadBytesBudget: int(env, 'DOWNLOAD_BYTES_BUDGET', DEFAULTS.DOWNLOAD_BYTES_BUDGET, 1024 * 1024, 2 ** 40),
      unknownSizeReserve: int(env, 'UNKNOWN_SIZE_RESERVE', DEFAULTS.UNKNOWN_SIZE_RESERVE, 0, 2 ** 40),
      extractConcurrency: int(env, 'EXTRACT_CONCURRENCY', pool.size + 1, 1, 1024),
      extractBytesBudget: int(env, 'EXTRACT_BYTES_BUDGET', DEFAULTS.EXTRACT_BYTES_BUDGET, 1024 * 1024, 2 ** 40),
      indexBatchSize: int(env, 'INDEX_BATCH_SIZE', DEFAULTS.INDEX_BATCH_SIZE, 1, 10_000),
      indexBatchBytes: int(env, 'INDEX_BATCH_BYTES', DEFAULTS.INDEX_BATCH_BYTES, 1024, 100 * 1024 * 1024),
      indexFlushMs: int(env, 'INDEX_FLUSH_MS', DEFAULTS.INDEX_FLUSH_MS, 0, 60_000),
      indexConcurrency: int(env, 'INDEX_CONCURRENCY', DEFAULTS.INDEX_CONCURRENCY, 1, 64),
    },
    limits: {
      maxBytes: int(env, 'MAX_BYTES', DEFAULTS.MAX_BYTES, 1, 2 ** 40),
      maxOcrPages: int(env, 'MAX_OCR_PAGES', DEFAULTS.MAX_OCR_PAGES, 0, 100_000),
      maxChars: int(env, 'MAX_CHARS', DEFAULTS.MAX_CHARS, 1, 100_000_000),
      docTimeoutMs: int(env, 'DOC_TIMEOUT_MS', DEFAULTS.DOC_TIMEOUT_MS, 100, 86_400_000),
      pageTimeoutMs: int(env, 'PAGE_TIMEOUT_MS', DEFAULTS.PAGE_TIMEOUT_MS, 100, 86_400_000),
      maxPixels: int(env, 'MAX_PIXELS', DEFAULTS.MAX_PIXELS, 1, 2 ** 40),
      maxPageImageBytes: int(env, 'MAX_PAGE_IMAGE_BYTES', DEFAULTS.MAX_PAGE_IMAGE_BYTES, 1024 * 1024, 2 ** 40),
    },
    serve: {
      host: serveHost(env),
      port: int(env, 'SERVE_PORT', DEFAULTS.SERVE_PORT, 0, 65_535),
      token: serveToken(env),
      maxPageSize: int(env, 'SERVE_MAX_PAGE_SIZE', DEFAULTS.SERVE_MAX_PAGE_SIZE, 1, 1000),
      maxTextChars: int(env, 'SERVE_MAX_TEXT_CHARS', DEFAULTS.SERVE_MAX_TEXT_CHARS, 1000, 100_000_000),
      maxUrlBytes: int(env, 'SERVE_MAX_URL_BYTES', DEFAULTS.SERVE_MAX_URL_BYTES, 512, 65_536),
      thumbnailLinkSeconds: int(env, 'SERVE_THUMBNAIL_LINK_SECONDS', DEFAULTS.SERVE_THUMBNAIL_LINK_SECONDS, 1, 604_800),
      indexTimeoutMs: int(env, 'SERVE_INDEX_TIMEOUT_MS', DEFAULTS.SERVE_INDEX_TIMEOUT_MS, 100, 600_000),
      maxConnections: int(env, 'SERVE_MAX_CONNECTIONS', DEFAULTS.SERVE_MAX_CONNECTIONS, 1, 100_000),
      maxConcurrentRequests: int(env, 'SERVE_MAX_CONCURRENT_REQUESTS', DEFAULTS.SERVE_MAX_CONCURRENT_REQUESTS, 1, 10_000),
    },
    memory: memoryConfig(env, cgroupLimitBytes),
    tmpDir: env.TMPDIR || os.tmpdir(),
    metricsPort: int(env, 'METRICS_PORT', DEFAULTS.METRICS_PORT, 0, 65_535),
    logLevel: oneOf(env, 'LOG_LEVEL', DEFAULTS.LOG_LEVEL, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', DEFAULTS.SHUTDOWN_TIMEOUT_MS, 0, 3_600_000),
  };
}
