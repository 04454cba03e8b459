// The container and deployment files cannot be built or applied here (no Docker engine, no AWS), so this
// checks what can be checked: they parse, they follow the conventions the README promises, and they agree
// with each other and with the code (metric names, config variables, ports, queue and bucket names).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { PrometheusTelemetry, STAGE_NAMES } from '../src/telemetry/metrics.ts';
import { DEFAULTS, JEMALLOC_ENV, PROCESS_ENV, loadConfig, parseIndexUrl, parseThumbnailUrl } from '../src/config.ts';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const readJson = <T = any>(path: string): T => JSON.parse(read(path)) as T;

type EnvList = { name: string; value: string }[];
const envObject = (list: EnvList) => Object.fromEntries(list.map((e) => [e.name, e.value]));

const task = readJson('deploy/ecs-task-definition.json');
const container = task.containerDefinitions[0];
const taskEnv: Record<string, string> = envObject(container.environment);
const compose = read('deploy/docker-compose.yml');
const dockerfile = read('Dockerfile');

/** The worker service's `- NAME=value` environment lines in docker-compose.yml. */
function composeWorkerEnv(): Record<string, string> {
  const block = /^  worker:\n((?: {4,}.*\n|\s*\n)*)/m.exec(compose);
  assert.ok(block, 'docker-compose.yml has no worker service');
  const env: Record<string, string> = {};
  for (const m of block[1].matchAll(/^ {6}- ([A-Z][A-Z0-9_]*)=(.*)$/gm)) env[m[1]] = m[2].trim();
  return env;
}

/** Variable names the configuration module reads, plus the AWS SDK's standard ones it documents. */
function knownVariables(): Set<string> {
  const names = new Set(Object.keys(DEFAULTS));
  for (const m of read('src/config.ts').matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)) names.add(m[1]);
  for (const aws of ['AWS_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'TMPDIR']) names.add(aws);
  return names;
}

/** Series names a scrape of PrometheusTelemetry can contain (histograms as _bucket/_sum/_count). */
function registeredSeriesNames(): { series: Set<string>; families: string[] } {
  const t = new PrometheusTelemetry();
  const series = new Set<string>();
  const families: string[] = [];
  for (const m of t.registry.getMetricsAsArray() as unknown as { name: string; type: string }[]) {
    families.push(m.name);
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) series.add(m.name + s);
    else if (m.type === 'summary') for (const s of ['', '_sum', '_count']) series.add(m.name + s);
    else series.add(m.name);
  }
  return { series, families };
}

describe('deploy/ JSON files', () => {
  it('every JSON file parses', () => {
    const files = readdirSync(new URL('deploy/', root)).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 4, `found ${files.join(', ')}`);
    for (const f of files) assert.doesNotThrow(() => readJson(`deploy/${f}`), f);
  });
});

describe('Dockerfile', () => {
  const from = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  const instructions = (name: string) => [...dockerfile.matchAll(new RegExp(`^${name}\\s+(.*)$`, 'gm'))].map((m) => m[1]);

  it('is multi-stage on Node 24 slim', () => {
    assert.ok(from.length >= 2, `FROM lines: ${from.join(', ')}`);
    for (const image of from) assert.match(image, /^node:24(-slim|\b)/);
  });

  it('installs production dependencies only, from the lock file', () => {
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.doesNotMatch(dockerfile, /npm install\b/);
  });

  it('runs as a non-root user under an init process, starting the SQS consumer', () => {
    const users = instructions('USER');
    assert.ok(users.length > 0, 'no USER');
    assert.doesNotMatch(users.at(-1)!, /^(root|0)(:|$)/);
    assert.match(users.at(-1)!, /^[1-9]\d*:[1-9]\d*$/, 'numeric uid:gid, so Kubernetes runAsNonRoot can verify it');
    assert.match(dockerfile, /apt-get install[^\n]*\btini\b/);
    const entry = JSON.parse(instructions('ENTRYPOINT').at(-1)!) as string[];
    const cmd = JSON.parse(instructions('CMD').at(-1)!) as string[];
    assert.equal(entry[0], '/usr/bin/tini');
    assert.deepEqual([...entry.slice(entry.indexOf('node')), ...cmd], ['node', 'bin/filesearch-worker.js', 'run']);
  });

  it('carries the OCI image labels', () => {
    for (const label of ['title', 'description', 'version', 'licenses']) assert.match(dockerfile, new RegExp(`org\\.opencontainers\\.image\\.${label}=`), label);
    const version = JSON.parse(read('package.json')).version as string;
    assert.match(dockerfile, new RegExp(`org\\.opencontainers\\.image\\.version="${version.replace(/\./g, '\\.')}"`), 'the label version is the package version');
  });

  it('installs the native OCR engine with its languages and ships the WASM engine\'s models', () => {
    for (const pkg of ['tesseract-ocr', 'tesseract-ocr-jpn', 'tesseract-ocr-jpn-vert']) assert.match(dockerfile, new RegExp(`apt-get install[^\\n]*\\s${pkg}(\\s|$)`, 'm'));
    assert.ok(instructions('COPY').some((l) => /^models\b/.test(l!)), 'models/ is copied into the image');
  });

  it('checks /healthz with node on the metrics port it exposes, and gives temp files a mountable home', () => {
    assert.match(dockerfile, /^HEALTHCHECK [^\n]*(\\\n[^\n]*)*\/healthz/m);
    assert.deepEqual(instructions('EXPOSE'), [String(DEFAULTS.METRICS_PORT)]);
    assert.match(dockerfile, /TMPDIR=\/tmp/);
  });

  it('starts the process with the malloc and heap settings of PROCESS_ENV, as npm start does, on jemalloc (JEMALLOC_ENV), and a filled compile cache', () => {
    // Every ENV instruction with its continuation lines, as NAME=value pairs.
    const pairs = [...dockerfile.matchAll(/^ENV\s+((?:.*\\\n)*.*)$/gm)].flatMap((m) => m[1]!.replace(/\\\n/g, ' ').split(/\s+/));
    const env = Object.fromEntries(pairs.filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const start = JSON.parse(read('package.json')).scripts.start as string;
    for (const [name, value] of Object.entries(PROCESS_ENV)) {
      assert.equal(env[name], value, `Dockerfile ENV ${name}`);
      assert.ok(start.includes(`${name}=\${${name}:-${value}}`), `npm start sets ${name}=${value}: ${start}`);
    }
    // The image runs on jemalloc: the library is installed and preloaded with its settings.
    for (const [name, value] of Object.entries(JEMALLOC_ENV)) assert.equal(env[name], value, `Dockerfile ENV ${name}`);
    assert.match(dockerfile, /apt-get install[^\n]*\slibjemalloc2(\s|$)/m, 'the image installs libjemalloc2');
    assert.match(start, /node bin\/filesearch-worker\.js$/, 'npm start goes through the installed command (it enables the compile cache)');
    assert.ok(env.NODE_COMPILE_CACHE, 'NODE_COMPILE_CACHE is set');
    const fill = dockerfile.indexOf('RUN node scripts/fill-compile-cache.ts');
    assert.ok(fill > dockerfile.indexOf('COPY src') && fill > dockerfile.indexOf('ENV NODE_COMPILE_CACHE'), 'the cache is filled after the sources are copied, into NODE_COMPILE_CACHE');
  });

  it('copies only paths that exist and that .dockerignore lets into the build context', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(ignore[0], '*', '.dockerignore should start by excluding everything');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const line of instructions('COPY').filter((l) => !l.startsWith('--from'))) {
      const parts = line.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        assert.ok(existsSync(new URL(src, root)), `COPY source ${src} does not exist`);
        assert.ok(allowed.includes(src.replace(/\/$/, '')), `COPY source ${src} is excluded by .dockerignore`);
      }
    }
  });
});

describe('deploy/docker-compose.yml', () => {
  it('is indented with spaces only and names the three services', () => {
    assert.doesNotMatch(compose, /^\t/m, 'YAML does not allow tabs for indentation');
    assert.match(compose, /^services:$/m);
    for (const s of ['opensearch', 'fauxqs', 'worker']) assert.match(compose, new RegExp(`^  ${s}:$`, 'm'), s);
    assert.match(compose, /image: kibertoad\/fauxqs/);
    assert.match(compose, /image: opensearchproject\/opensearch:/);
    assert.match(compose, /DISABLE_SECURITY_PLUGIN=true/);
  });

  it('gives the worker a configuration the config module accepts, pointed at OpenSearch and fauxqs', () => {
    const env = composeWorkerEnv();
    const config = loadConfig(env);
    assert.deepEqual(config.index, { kind: 'opensearch', node: 'http://opensearch:9200', index: 'files', auth: { kind: 'none' } });
    assert.match(env.AWS_ENDPOINT_URL, /^http:\/\/fauxqs:4566/);
    assert.equal(env.S3_FORCE_PATH_STYLE, 'true');
    const known = knownVariables();
    for (const name of Object.keys(env)) assert.ok(known.has(name), `worker sets ${name}, which nothing reads`);
  });

  it('creates, in fauxqs, the queue and the thumbnail bucket the worker uses', () => {
    const env = composeWorkerEnv();
    const init = readJson<{ queues: { name: string }[]; buckets: string[] }>('deploy/fauxqs-init.json');
    assert.match(compose, /\.\/fauxqs-init\.json:\/app\/init\.json/);
    const queueName = env.QUEUE_URL.split('/').at(-1);
    assert.ok(init.queues.some((q) => q.name === queueName), `queue ${queueName} not in fauxqs-init.json`);
    const thumbs = parseThumbnailUrl(env.THUMBNAIL_URL);
    assert.equal(thumbs.kind, 's3');
    assert.ok(init.buckets.includes((thumbs as { bucket: string }).bucket));
  });

  it('runs the worker read-only with a tmpfs temp dir and a grace period longer than its drain', () => {
    assert.match(compose, /^    read_only: true$/m);
    assert.match(compose, /^      - \/tmp(:|$)/m);
    const grace = /stop_grace_period: (\d+)s/.exec(compose);
    assert.ok(grace, 'no stop_grace_period');
    assert.ok(Number(grace[1]) * 1000 > Number(composeWorkerEnv().SHUTDOWN_TIMEOUT_MS ?? DEFAULTS.SHUTDOWN_TIMEOUT_MS));
  });

  it('mounts only files that exist in deploy/', () => {
    for (const m of compose.matchAll(/^\s+- \.\/([\w.-]+):/gm)) assert.ok(existsSync(new URL(`deploy/${m[1]}`, root)), m[1]);
  });
});

describe('deploy/ecs-task-definition.json', () => {
  it('is an awsvpc task with task-level CPU and memory and awslogs logging', () => {
    assert.equal(task.networkMode, 'awsvpc');
    assert.ok(Number(task.cpu) >= 1024 && Number(task.memory) >= 2048);
    assert.equal(container.logConfiguration.logDriver, 'awslogs');
    assert.ok(container.essential);
  });

  it('sets only variables the worker reads, with values its config module accepts', () => {
    const known = knownVariables();
    for (const name of Object.keys(taskEnv)) assert.ok(known.has(name), `task sets ${name}, which nothing reads`);
    const config = loadConfig(taskEnv);
    assert.equal(config.pool.size, Number(taskEnv.POOL_SIZE));
  });

  it('stops later than the worker drains, so SIGKILL never cuts a drain short', () => {
    const shutdownMs = Number(taskEnv.SHUTDOWN_TIMEOUT_MS ?? DEFAULTS.SHUTDOWN_TIMEOUT_MS);
    assert.ok(container.stopTimeout * 1000 > shutdownMs, `stopTimeout ${container.stopTimeout}s vs SHUTDOWN_TIMEOUT_MS ${shutdownMs}`);
  });

  it('has a read-only root file system with a writable volume at TMPDIR', () => {
    assert.equal(container.readonlyRootFilesystem, true);
    const tmp = taskEnv.TMPDIR ?? '/tmp';
    const mount = container.mountPoints.find((m: { containerPath: string }) => m.containerPath === tmp);
    assert.ok(mount && mount.readOnly === false, `no writable mount at ${tmp}`);
    assert.ok(task.volumes.some((v: { name: string }) => v.name === mount.sourceVolume));
  });

  it('probes the same /healthz command as the Dockerfile, on the port it maps', () => {
    const cmd = container.healthCheck.command as string[];
    assert.equal(cmd[0], 'CMD');
    const dockerHealth = /^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$/m.exec(dockerfile);
    assert.ok(dockerHealth, 'Dockerfile HEALTHCHECK CMD not in exec form');
    assert.deepEqual(cmd.slice(1), JSON.parse(dockerHealth[1]));
    assert.equal(container.portMappings[0].containerPort, Number(taskEnv.METRICS_PORT ?? DEFAULTS.METRICS_PORT));
  });
});

describe('deploy/iam-policy.json', () => {
  const policy = readJson<{ Statement: { Action: string | string[]; Resource: string | string[]; Effect: string }[] }>('deploy/iam-policy.json');
  const statements = policy.Statement.map((s) => ({ actions: [s.Action].flat(), resources: [s.Resource].flat(), effect: s.Effect }));
  const actionsOn = (prefix: string) => statements.filter((s) => s.actions.some((a) => a.startsWith(prefix)));

  it('grants no wildcard actions or resources', () => {
    for (const s of statements) {
      for (const a of s.actions) assert.doesNotMatch(a, /\*/, a);
      for (const r of s.resources) assert.notEqual(r, '*');
    }
  });

  it('lets the worker consume exactly one queue: the one in the task definition', () => {
    const sqs = actionsOn('sqs:');
    assert.equal(sqs.length, 1);
    assert.deepEqual([...sqs[0].actions].sort(), ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    assert.equal(sqs[0].resources.length, 1);
    const queueName = taskEnv.QUEUE_URL.split('/').at(-1);
    assert.match(sqs[0].resources[0], new RegExp(`^arn:aws:sqs:[a-z0-9-]+:\\d{12}:${queueName}$`));
  });

  it('puts, copies and deletes objects only under the thumbnail prefix of THUMBNAIL_URL, and reads but never writes sources', () => {
    const thumbs = parseThumbnailUrl(taskEnv.THUMBNAIL_URL) as { bucket: string; prefix: string };
    assert.ok(thumbs.prefix, 'example THUMBNAIL_URL should have a prefix');
    const thumbArn = `arn:aws:s3:::${thumbs.bucket}/${thumbs.prefix.replace(/\/?$/, '/')}*`;
    for (const action of ['s3:PutObject', 's3:DeleteObject']) {
      const writes = statements.filter((s) => s.actions.includes(action));
      assert.equal(writes.length, 1, action);
      assert.deepEqual(writes[0].resources, [thumbArn], action);
    }
    const get = statements.filter((s) => s.actions.includes('s3:GetObject'));
    const sources = get.filter((s) => !s.resources.includes(thumbArn));
    assert.equal(sources.length, 1);
    assert.ok(sources[0].actions.includes('s3:GetObjectVersion'));
    assert.ok(!sources[0].resources.some((r) => r.startsWith(`arn:aws:s3:::${thumbs.bucket}`)), 'source and thumbnail buckets are separate in the example');
    assert.deepEqual(get.filter((s) => s.resources.includes(thumbArn)).map((s) => s.resources), [[thumbArn]], 'thumbnails are read (copied) only under their prefix');
  });

  it('limits OpenSearch HTTP calls to the index named by INDEX_URL', () => {
    const target = parseIndexUrl(taskEnv.INDEX_URL);
    assert.equal(target.kind, 'opensearch');
    const es = actionsOn('es:');
    assert.equal(es.length, 1);
    assert.deepEqual([...es[0].actions].sort(), ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut']);
    const index = (target as { index: string }).index;
    for (const r of es[0].resources) assert.match(r, new RegExp(`^arn:aws:es:[a-z0-9-]+:\\d{12}:domain/[a-z0-9-]+/${index}(/\\*|-v\\*)?$`));
  });
});

describe('deploy/autoscaling.json', () => {
  const policy = readJson('deploy/autoscaling.json');
  const tt = policy.TargetTrackingScalingPolicyConfiguration;

  it('is a target-tracking policy on the ECS service desired count', () => {
    assert.equal(policy.ServiceNamespace, 'ecs');
    assert.equal(policy.ScalableDimension, 'ecs:service:DesiredCount');
    assert.equal(policy.PolicyType, 'TargetTrackingScaling');
    assert.ok(tt.TargetValue > 0);
  });

  it('tracks visible messages per running task on the task definition\'s queue', () => {
    const metrics = tt.CustomizedMetricSpecification.Metrics as { Id: string; ReturnData: boolean; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } } }[];
    const returned = metrics.filter((m) => m.ReturnData);
    assert.equal(returned.length, 1, 'exactly one query must return data');
    const byName = (n: string) => metrics.find((m) => m.MetricStat?.Metric.MetricName === n);
    const visible = byName('ApproximateNumberOfMessagesVisible');
    const tasks = byName('RunningTaskCount');
    assert.ok(visible && tasks);
    assert.match(returned[0].Expression ?? '', new RegExp(`\\b${visible.Id}\\s*/\\s*${tasks.Id}\\b`));
    const queueName = taskEnv.QUEUE_URL.split('/').at(-1);
    assert.deepEqual(visible.MetricStat!.Metric.Dimensions, [{ Name: 'QueueName', Value: queueName }]);
    const service = policy.ResourceId.split('/');
    assert.deepEqual(tasks.MetricStat!.Metric.Dimensions, [{ Name: 'ClusterName', Value: service[1] }, { Name: 'ServiceName', Value: service[2] }]);
  });
});

describe('deploy/grafana-dashboard.json', () => {
  type Panel = { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] };
  const dashboard = readJson<{ panels: Panel[] }>('deploy/grafana-dashboard.json');
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('only queries series that PrometheusTelemetry registers', () => {
    const { series } = registeredSeriesNames();
    const referenced = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:filesearch|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1])));
    assert.ok(referenced.size >= 20, `only ${referenced.size} metric names found`);
    for (const name of referenced) assert.ok(series.has(name), `dashboard queries ${name}, which is not registered`);
  });

  it('has one row per stage, each with throughput by outcome and p50/p95 latency', () => {
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    for (const stage of STAGE_NAMES) {
      assert.ok(rows.includes(`Stage: ${stage}`), `no row for ${stage}`);
      const mine = exprs.filter((e) => e.includes(`stage="${stage}"`));
      assert.ok(mine.some((e) => e.includes('filesearch_stage_items_total') && e.includes('by (outcome)')), `${stage}: no items by outcome`);
      assert.ok(mine.some((e) => e.startsWith('histogram_quantile(0.5,')), `${stage}: no p50`);
      assert.ok(mine.some((e) => e.startsWith('histogram_quantile(0.95,')), `${stage}: no p95`);
    }
    for (const m of exprs.join('\n').matchAll(/stage="([^"]*)"/g)) assert.ok((STAGE_NAMES as readonly string[]).includes(m[1]), `unknown stage ${m[1]}`);
  });

  it('shows queues, pool, memory and documents by status', () => {
    const all = exprs.join('\n');
    for (const name of ['filesearch_queue_depth', 'filesearch_queue_capacity', 'filesearch_pool_utilization_ratio', 'filesearch_pool_queue_size', 'process_resident_memory_bytes', 'filesearch_documents_total', 'filesearch_documents_without_text_total', 'filesearch_messages_in_flight', 'filesearch_oldest_message_age_seconds', 'filesearch_delete_failures_total', 'filesearch_messages_released_total']) {
      assert.ok(all.includes(name), `${name} not on the dashboard`);
    }
  });

  it('has unique panel ids and every query panel uses the datasource variable', () => {
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) assert.equal(p.datasource?.uid, '${datasource}', p.title);
  });
});

describe('deploy/prometheus.yml and docs/operations.md', () => {
  it('scrapes /metrics on the default metrics port', () => {
    const prom = read('deploy/prometheus.yml');
    assert.doesNotMatch(prom, /^\t/m);
    assert.match(prom, /^scrape_configs:$/m);
    assert.match(prom, /metrics_path: \/metrics/);
    assert.match(prom, new RegExp(`targets: \\["worker:${DEFAULTS.METRICS_PORT}"\\]`));
  });

  it('the operations guide lists every filesearch_ metric family the code registers', () => {
    const docs = read('docs/operations.md');
    const { families } = registeredSeriesNames();
    for (const name of families.filter((f) => f.startsWith('filesearch_'))) assert.ok(docs.includes(`\`${name}\``), `docs/operations.md does not list ${name}`);
  });
});
