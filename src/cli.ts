#!/usr/bin/env node
// filesearch-worker <command>
//   run                                 the SQS consumer (production)
//   index <paths...> [--db FILE]        index local files with the same stages
//   search <words…> [filters]           search the index (SQLite or OpenSearch)
//   dump [--db FILE]                    every indexed document, one JSON object a line
//   serve [--db FILE]                   the search page and API on 127.0.0.1
//   reindex [--settle-seconds N]        rebuild the OpenSearch index behind the INDEX_URL alias
//   backfill | reconcile | reprocess s3://bucket[/prefix] ...   bring a bucket and the index in line
import { ShutdownSignals } from './commands/shutdown-signals.ts';
import type { Config } from './config.ts';
import type { Logger } from './telemetry/log.ts';

// `run` handles SIGTERM from its first moment (ECS may stop a task that is still starting): the
// handlers go in before anything else is loaded; each command loads what it needs only when chosen.
const earlySignals = process.argv[2] === 'run' ? new ShutdownSignals() : undefined;
const { parseArgs } = await import('node:util');
const { readFile } = await import('node:fs/promises');
const { loadConfig } = await import('./config.ts');
const { ConfigError, errorMessage } = await import('./errors.ts');
const { createLogger } = await import('./telemetry/log.ts');
const { localDbPath, openSearchBackend } = await import('./wiring.ts');
const { SEARCH_USAGE } = await import('./commands/search.ts');

const USAGE = `usage: filesearch-worker <command>

  run                                    consume S3 events from SQS (QUEUE_URL) until SIGTERM
  index <paths...> [--db FILE] [--serve-metrics] [--no-thumbnails] [--strict]
                                         index local files and folders (re-runs skip unchanged files);
                                         exit 1 if a path could not be read (--strict: or a document failed)
  ${SEARCH_USAGE}
                                         search the index INDEX_URL names (or --db FILE)
  dump [--db FILE]                       print every indexed document as JSON lines
  serve [--db FILE]                      the search page and its API (SERVE_HOST, SERVE_PORT, SERVE_TOKEN)
  reindex [--settle-seconds N]           build the next version of the OpenSearch index behind the
                                         INDEX_URL alias and move the alias to it (workers keep running)
  backfill s3://bucket[/prefix] [--direct] [--dry-run] [--max-rate N]
                                         send what the bucket holds and the index lacks to the queue
                                         (--direct: index it in this process); re-runs skip what is indexed
  reconcile s3://bucket[/prefix] [--dry-run] [--max-rate N]
                                         remove documents whose object is gone; send objects not indexed
  reprocess s3://bucket[/prefix] [--status failed,partial,...] [--below-version N] [--dry-run] [--max-rate N]
                                         send indexed documents through the worker again

Configuration is read from the environment; see README.md.`;

/** Each command's usage, for `<command> --help` (stdout, exit 0) and after a bad flag (stderr, exit 2). */
const COMMAND_USAGE: Record<string, string> = {
  run: `usage: filesearch-worker run

Consumes S3 events from the SQS queue in QUEUE_URL until SIGTERM/SIGINT, then drains within
SHUTDOWN_TIMEOUT_MS and exits 0. Serves /metrics, /healthz and /readyz on METRICS_PORT. No flags:
configuration is the environment (README.md).`,
  index: `usage: filesearch-worker index <paths...> [--db FILE] [--serve-metrics] [--no-thumbnails] [--strict]

Indexes local files and folders into the SQLite index. Re-runs skip unchanged files and remove the
documents of files that are gone. An unreadable path is reported on stderr and skipped.

  --db FILE          the SQLite index (default: INDEX_URL's sqlite: path, else ./data/index.db)
  --serve-metrics    serve /metrics on 127.0.0.1:METRICS_PORT while indexing
  --no-thumbnails    make no thumbnails
  --strict           also exit 1 when a document could only be stored as failed or partial

Exit codes: 0 every file has its document; 1 a path could not be indexed, or the run was stopped;
2 usage; 78 configuration.`,
  search: `usage: filesearch-worker ${SEARCH_USAGE}

Searches the index INDEX_URL names (or --db FILE); every word must match.`,
  dump: `usage: filesearch-worker dump [--db FILE]

Prints every indexed document as one JSON object a line.`,
  serve: `usage: filesearch-worker serve [--db FILE]

The search page and its API (SERVE_HOST, SERVE_PORT, SERVE_TOKEN).`,
  reindex: `usage: filesearch-worker reindex [--settle-seconds N]

Builds the next version of the OpenSearch index behind the INDEX_URL alias and moves the alias to it.`,
};

/** Exit code for a bad configuration (sysexits EX_CONFIG): the process stops once, with one message. */
const EXIT_CONFIG = 78;
/** Exit code for a bad command line: the usage goes to stderr. */
const EXIT_USAGE = 2;

/** A flag parseArgs refused (unknown, missing its value, a stray argument). */
function isUsageError(err: unknown): boolean {
  return typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS_');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(`filesearch-worker ${pkg.version}`);
    return 0;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (!command || !(command in COMMAND_USAGE)) {
    console.error(`${command ? `unknown command ${JSON.stringify(command)}\n\n` : ''}${USAGE}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(COMMAND_USAGE[command]);
    return 0;
  }
  // A closed stdout ("dump | head -1") ends a command quietly, as Unix tools do. "run" writes its log
  // there and keeps Node's default: a worker that cannot log should stop visibly.
  if (command !== 'run') {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  try {
    return await runCommand(command, rest);
  } catch (err) {
    if (!isUsageError(err)) throw err;
    console.error(`${command}: ${errorMessage(err)}\n\n${COMMAND_USAGE[command]}`);
    return EXIT_USAGE;
  }
}

async function runCommand(command: string, rest: string[]): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`filesearch-worker: bad configuration: ${err.message}`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const logger: Logger = createLogger(command === 'run' ? config.logLevel : process.env.LOG_LEVEL || 'warn');

  switch (command) {
    case 'run': {
      parseArgs({ args: rest, options: {} }); // no flags: anything given is a usage error
      // The SDKs and the pool load only now, after the signal handlers are in place.
      const { runWorker } = await import('./commands/run.ts');
      return runWorker(config, logger, earlySignals ?? new ShutdownSignals());
    }
    case 'index': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { db: { type: 'string' }, 'serve-metrics': { type: 'boolean' }, 'no-thumbnails': { type: 'boolean' }, strict: { type: 'boolean' } },
      });
      if (positionals.length === 0) {
        console.error(`index: give at least one file or folder\n\n${COMMAND_USAGE.index}`);
        return EXIT_USAGE;
      }
      const { runIndexCommand } = await import('./commands/index-files.ts');
      return runIndexCommand(config, logger, {
        paths: positionals,
        db: values.db ?? localDbPath(config),
        serveMetrics: values['serve-metrics'] ?? false,
        thumbnails: !values['no-thumbnails'],
        strict: values.strict ?? false,
      });
    }
    case 'search':
      const { runSearchCommand } = await import('./commands/search.ts');
      return runSearchCommand(rest, (db) => openSearchBackend(config, db));
    case 'dump': {
      const { values } = parseArgs({ args: rest, options: { db: { type: 'string' } } });
      const { runDumpCommand } = await import('./commands/dump.ts');
      return runDumpCommand(await openSearchBackend(config, values.db));
    }
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { db: { type: 'string' } } });
      const { runServeCommand } = await import('./commands/serve.ts');
      return runServeCommand(config, logger, { db: values.db });
    }
    case 'reindex': {
      const { values } = parseArgs({ args: rest, options: { 'settle-seconds': { type: 'string' } } });
      const settleSeconds = values['settle-seconds'] === undefined ? config.reindex.settleSeconds : Number(values['settle-seconds']);
      if (!Number.isInteger(settleSeconds) || settleSeconds < 0 || settleSeconds > 3600) {
        console.error(`reindex: --settle-seconds must be 0..3600, got ${values['settle-seconds']}`);
        return 2;
      }
      const { runReindexCommand } = await import('./commands/reindex.ts');
      return runReindexCommand(config, logger, { settleSeconds });
    }
    case 'backfill':
    case 'reconcile':
    case 'reprocess': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          'dry-run': { type: 'boolean' }, 'max-rate': { type: 'string' }, direct: { type: 'boolean' },
          status: { type: 'string' }, 'below-version': { type: 'string' },
        },
      });
      const target = positionals[0] ?? '';
      const maxRate = values['max-rate'] === undefined ? Infinity : Number(values['max-rate']);
      if (!(maxRate > 0)) {
        console.error(`${command}: --max-rate must be a positive number of messages per second, got ${values['max-rate']}`);
        return 2;
      }
      const dryRun = values['dry-run'] ?? false;
      const [{ runBackfillCommand }, { runReconcileCommand }, { runReprocessCommand }, { DOC_STATUSES }] = await Promise.all([
        import('./commands/backfill.ts'), import('./commands/reconcile.ts'), import('./commands/reprocess.ts'), import('./types.ts'),
      ]);
      if (command === 'backfill') return (await runBackfillCommand(config, logger, { target, direct: values.direct ?? false, dryRun, maxRate })).code;
      if (command === 'reconcile') return (await runReconcileCommand(config, logger, { target, dryRun, maxRate })).code;
      const statuses = (values.status ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const bad = statuses.filter((s) => !(DOC_STATUSES as readonly string[]).includes(s));
      if (bad.length) {
        console.error(`reprocess: --status takes ${DOC_STATUSES.join(', ')}; got ${bad.join(', ')}`);
        return 2;
      }
      const below = values['below-version'] === undefined ? undefined : Number(values['below-version']);
      if (below !== undefined && !Number.isInteger(below)) {
        console.error(`reprocess: --below-version must be an integer, got ${values['below-version']}`);
        return 2;
      }
      return (await runReprocessCommand(config, logger, { target, statuses: statuses as Array<(typeof DOC_STATUSES)[number]>, belowVersion: below, dryRun, maxRate })).code;
    }
    default:
      console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // A setting only a command checks (SERVE_TOKEN for `serve` beyond loopback) stops it like loadConfig does.
    if (err instanceof ConfigError) {
      console.error(`filesearch-worker: bad configuration: ${err.message}`);
      process.exitCode = EXIT_CONFIG;
      return;
    }
    console.error(`filesearch-worker: ${errorMessage(err)}`);
    process.exitCode = 1;
  },
);
