#!/usr/bin/env node
// filesearch-worker <command>
//   run                                 the SQS consumer (production)
//   index <paths...> [--db FILE]        index local files with the same stages
//   search <query> [--db FILE] [--json] full-text search of the local index
//   dump [--db FILE]                    every indexed document, one JSON object a line
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from './config.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { createLogger, type Logger } from './telemetry/log.ts';
import { runIndexCommand } from './commands/index-files.ts';
import { runWorker } from './commands/run.ts';
import { runSearchCommand } from './commands/search.ts';
import { runDumpCommand } from './commands/dump.ts';
import { localDbPath } from './wiring.ts';

const USAGE = `usage: filesearch-worker <command>

  run                                    consume S3 events from SQS (QUEUE_URL) until SIGTERM
  index <paths...> [--db FILE] [--serve-metrics] [--no-thumbnails]
                                         index local files and folders (re-runs skip unchanged files)
  search <query> [--db FILE] [--json] [--limit N]
                                         search the local index
  dump [--db FILE]                       print every indexed document as JSON lines

Configuration is read from the environment; see README.md.`;

/** Exit code for a bad configuration (sysexits EX_CONFIG): the process stops once, with one message. */
const EXIT_CONFIG = 78;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
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
    case 'run':
      return runWorker(config, logger);
    case 'index': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { db: { type: 'string' }, 'serve-metrics': { type: 'boolean' }, 'no-thumbnails': { type: 'boolean' } },
      });
      if (positionals.length === 0) {
        console.error('index: give at least one file or folder');
        return 2;
      }
      return runIndexCommand(config, logger, {
        paths: positionals,
        db: values.db ?? localDbPath(config),
        serveMetrics: values['serve-metrics'] ?? false,
        thumbnails: !values['no-thumbnails'],
      });
    }
    case 'search': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { db: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' } },
      });
      const query = positionals.join(' ').trim();
      if (!query) {
        console.error('search: give a query');
        return 2;
      }
      const limit = values.limit ? Number(values.limit) : 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        console.error(`search: --limit must be 1..10000, got ${values.limit}`);
        return 2;
      }
      return runSearchCommand(config, { query, db: values.db, json: values.json ?? false, limit });
    }
    case 'dump': {
      const { values } = parseArgs({ args: rest, options: { db: { type: 'string' } } });
      return runDumpCommand(config, values.db);
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
    console.error(`filesearch-worker: ${errorMessage(err)}`);
    process.exitCode = 1;
  },
);
