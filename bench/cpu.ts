/**
 * CPU time of the processes a benchmark runs with, read from /proc (Linux; 0 elsewhere). Used by
 * bench/throughput.ts and bench/notices-cost.ts (whose rounds script copies this file into the
 * baseline's worktree along with it).
 */
import { readdir, readFile } from 'node:fs/promises';

/** utime + stime of a process, in seconds (Linux); 0 elsewhere. */
export async function processCpu(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks: 100 per second on Linux
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine (Linux /proc/stat: everything but idle and iowait). */
export async function machineBusy(): Promise<number> {
  try {
    const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of every postgres process alive now (backends that exited are not counted). */
export async function postgresCpu(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'postgres') total += await processCpu(Number(entry));
  }
  return total;
}

