// `npm run chaos`: the long crash-and-restart run of issue 6. A few thousand messages over a mixed corpus
// (../shared/corpus text PDFs and office files, generated text, a few poison messages, objects removed
// mid-run); the worker child process is SIGKILLed at random moments several times and restarted; then
// every object must be indexed exactly once, removed ones absent, the queue empty, the DLQ holding
// exactly the poison, and no temp file left. Exit code 0 only if all of that holds.
//
//   npm run chaos -- [--messages 3000] [--kills 6] [--poison 7] [--removes 40] [--seed N] [--scenario S]
//
// Scenarios (default all):
//   crash          one worker, SIGKILLed and restarted
//   pidns          two workers side by side, each PID 1 in its own PID namespace (unshare -p -f
//                  --mount-proc; needs root), sharing one TMPDIR: no start-up sweep may remove the
//                  other's live temp dir (issue 16)
//   shared-sqlite  two workers side by side on one SQLite index file with small batches
//                  (INDEX_BATCH_SIZE=5, INDEX_FLUSH_MS=5): "database is locked" must lose nothing
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
    scenario: { type: 'string', default: 'all' },
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
const SCENARIOS: Record<string, { workers: number; wrap?: string[]; env?: Record<string, string> }> = {
  crash: { workers: 1 },
  pidns: { workers: 2, wrap: ['unshare', '-p', '--kill-child=SIGTERM', '--mount-proc'] },
  'shared-sqlite': { workers: 2, env: { INDEX_BATCH_SIZE: '5', INDEX_FLUSH_MS: '5' } },
};
const chosen = values.scenario === 'all' ? Object.keys(SCENARIOS) : [values.scenario!];
for (const name of chosen) {
  if (!SCENARIOS[name]) {
    console.error(`chaos: --scenario must be one of ${Object.keys(SCENARIOS).join(', ')}, all; got ${JSON.stringify(name)}`);
    process.exit(2);
  }
}
if (chosen.includes('pidns') && process.getuid?.() !== 0) {
  console.error('chaos: the pidns scenario needs root (unshare -p); run as root or pick another --scenario');
  process.exit(2);
}
let ok = true;
for (const name of chosen) {
  const s = SCENARIOS[name]!;
  console.log(`chaos: scenario ${name}`);
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
    workers: s.workers,
    ...(s.wrap ? { wrap: s.wrap } : {}),
    ...(s.env ? { env: s.env } : {}),
    log: (line) => console.log(line),
  });
  console.log(formatReport(report).split('\n').map((l) => `[${name}] ${l}`).join('\n'));
  ok &&= report.ok;
}
process.exitCode = ok ? 0 : 1;
