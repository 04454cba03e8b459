// The facts a reader needs to compare figures across machines.
import os from 'node:os';

export type MachineFacts = {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
  date: string;
  /** 1-minute load average when the bench started: other work on the machine skews the figures. */
  loadAvg: number;
};

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    loadAvg: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}
