// Bench child processes: forked on the pinned Node with an explicit environment, their log lines
// written to a file in the bench's temp dir (a pipe would cost the bench process CPU while it measures)
// and shown only if the child fails. runChild() is for one-shot probes that send one result.
import { fork, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ChildMessage<R> = { type: 'result'; result: R } | { type: 'error'; message: string };

let forks = 0;

export type LoggedChild = { child: ChildProcess; tail(): string };

/** Forks a .ts entry beside this file; `env` is the whole environment (plus PATH and HOME). */
export function forkLogged(entry: string, env: Record<string, string>, logDir: string, args: string[] = []): LoggedChild {
  const file = fileURLToPath(new URL(entry, import.meta.url));
  const logPath = join(logDir, `child-${++forks}.log`);
  const fd = openSync(logPath, 'w');
  const child = fork(file, args, {
    execPath: process.execPath,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  return {
    child,
    tail() {
      try {
        return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
      } catch {
        return '(no output)';
      }
    },
  };
}

export function runChild<R>(entry: string, arg: unknown, env: Record<string, string>, logDir: string, timeoutMs: number): Promise<R> {
  const { child, tail } = forkLogged(entry, env, logDir);
  // The argument goes over IPC: a command line has a size limit.
  child.send({ type: 'task', arg });
  return new Promise<R>((resolve, reject) => {
    let result: R | undefined;
    let error: Error | undefined;
    const timer = setTimeout(() => {
      error = new Error(`${entry} did not finish within ${timeoutMs} ms`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m: ChildMessage<R>) => {
      if (m.type === 'result') result = m.result;
      else error = new Error(m.message);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result !== undefined && !error) resolve(result);
      else reject(new Error(`${entry}: ${error?.message ?? `exited (${code ?? signal}) without a result`}\n--- output ---\n${tail()}`));
    });
  });
}

/** The child's side: wait for the argument, run `main` with it, send its result, exit. */
export function childMain<A, R>(main: (arg: A) => Promise<R>): void {
  const reply = (m: ChildMessage<R>, code: number) => process.send?.(m, () => process.exit(code));
  // The bench went away (Ctrl-C, a crash): do not linger.
  process.on('disconnect', () => process.exit(1));
  process.once('message', (m: { type: 'task'; arg: A }) => {
    main(m.arg).then(
      (result) => reply({ type: 'result', result }, 0),
      (err: unknown) => reply({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 1),
    );
  });
}
