#!/usr/bin/env node
// The installed command. Plain JavaScript on purpose: it runs before Node loads its TypeScript
// support (~150 ms), so a SIGTERM that arrives while the worker is still starting (ECS stopping a
// task) is recorded instead of killing the process; src/commands/shutdown-signals.ts takes it over.
// Runs the compiled package (dist/) when present, else the TypeScript sources directly.
import { existsSync } from 'node:fs';

const early = { signal: undefined, dispose() {} };
const record = (signal) => {
  early.signal ??= signal;
};
process.on('SIGTERM', record);
process.on('SIGINT', record);
early.dispose = () => {
  process.off('SIGTERM', record);
  process.off('SIGINT', record);
};
globalThis[Symbol.for('filesearch-worker.early-signals')] = early;

const compiled = new URL('../dist/cli.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli.ts', import.meta.url).href);
