// How busy the whole machine was during a run, from /proc/stat (Linux): other processes on a shared
// machine take cores from the worker under test, and the reader needs to know when they did.
import { readFileSync } from 'node:fs';

type Jiffies = { busy: number; total: number };

function read(): Jiffies | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice — guest time is already in user.
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Starts a measurement; the returned function gives the share of all cores that were busy since. */
export function machineBusy(): () => number | undefined {
  const a = read();
  return () => {
    const b = read();
    if (!a || !b || b.total <= a.total) return undefined;
    return (b.busy - a.busy) / (b.total - a.total);
  };
}
