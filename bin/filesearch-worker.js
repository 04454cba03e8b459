#!/usr/bin/env node
// The installed command. Plain JavaScript on purpose: it runs before Node loads its TypeScript
// support (~150 ms), so a SIGTERM that arrives while the worker is still starting (ECS stopping a
// task) is recorded instead of killing the process; src/commands/shutdown-signals.ts takes it over.
// Runs the compiled package (dist/) when present, else the TypeScript sources directly.
import { existsSync } from 'node:fs';
import module from 'node:module';

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

// Node's compile cache keeps each module compiled, and each .ts file with its types stripped, on disk
// (NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache; the image ships one filled at build time). With
// every module found there, no thread of this process loads the TypeScript stripper: ~17 MB less in the
// main thread and a quicker start. The pool threads read the same cache through the environment.
const cache = module.enableCompileCache?.();
if (cache?.status === module.constants.compileCacheStatus.ENABLED) process.env.NODE_COMPILE_CACHE ??= cache.directory;

const compiled = new URL('../dist/cli.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli.ts', import.meta.url).href);
