// `npm run chaos`: the long crash-and-restart run of issue 6. A few thousand messages over a mixed corpus
// (../shared/corpus text PDFs and office files, generated text, a few poison messages, objects removed
// mid-run); the worker child process is SIGKILLed at random moments several times and restarted; then
// every object must be indexed exactly once, removed ones absent, the queue empty, the DLQ holding
// exactly the poison, and no temp file left. Exit code 0 only if all of that holds.
//
//   npm run chaos -- [--messages 3000] [--kills 6] [--poison 7] [--removes 40] [--seed N]
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { formatReport, runChaos } from '../test/helpers/chaos.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '3000' },
    kills: { type: 'string', default: '6' },
    poison: { type: 'string', default: '7' },
    removes: { type: 'string', default: '40' },
    'corpus-share': { type: 'string', default: '0.4' },
    seed: { type: 'string' },
  },
});

function int(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`chaos: --${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const share = Number(values['corpus-share']);
if (!(share >= 0 && share <= 1)) {
  console.error(`chaos: --corpus-share must be 0..1, got ${JSON.stringify(values['corpus-share'])}`);
  process.exit(2);
}
const seed = values.seed === undefined ? Date.now() % 1_000_000 : int('seed', values.seed, 0);
const report = await runChaos({
  messages: int('messages', values.messages, 10),
  kills: int('kills', values.kills, 0),
  poison: int('poison', values.poison, 0),
  removes: int('removes', values.removes, 0),
  corpusShare: share,
  corpusDir: fileURLToPath(new URL('../../shared/corpus/', import.meta.url)),
  killAfterMs: [500, 8_000],
  drainTimeoutMs: 30 * 60_000,
  seed,
  log: (line) => console.log(line),
});
console.log(formatReport(report));
process.exitCode = report.ok ? 0 : 1;
