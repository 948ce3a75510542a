/**
 * How busy another process is: its CPU time (user + system, all threads, from Linux /proc/<pid>/stat) over wall
 * time between two readings. The benches print it for the simulator per phase, so a phase whose figure the
 * simulator limits says so (issue 14: "its busy share is printed"). A share near 1.0 means one core fully used;
 * above 1.0 the process used more than one core (its GC and worker threads). Null where /proc is missing.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) process `pid` used so far; null when /proc cannot be read. */
export function cpuSecondsOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so cut at its closing parenthesis): state is
    // field 3, utime field 14, stime field 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** One phase of a process's busy share: CPU seconds, wall seconds, and their quotient. */
export interface BusyShare {
  cpuSeconds: number | null;
  wallSeconds: number;
  /** CPU ÷ wall (1.0 = one core busy all the time). */
  share: number | null;
}

/** Busy share of process `pid` per phase: each {@link lap} reports the time since the previous one. */
export class BusyMeter {
  private cpu0: number | null;
  private wall0 = performance.now();

  constructor(private readonly pid: number | undefined) {
    this.cpu0 = cpuSecondsOf(pid);
  }

  /** The busy share since the last lap (or since construction), and starts the next phase. */
  lap(): BusyShare {
    const cpu = cpuSecondsOf(this.pid);
    const wall = performance.now();
    const cpuSeconds = cpu === null || this.cpu0 === null ? null : +(cpu - this.cpu0).toFixed(2);
    const wallSeconds = +((wall - this.wall0) / 1000).toFixed(2);
    this.cpu0 = cpu;
    this.wall0 = wall;
    return {
      cpuSeconds,
      wallSeconds,
      share: cpuSeconds === null || wallSeconds === 0 ? null : +(cpuSeconds / wallSeconds).toFixed(2),
    };
  }
}

/** "busy 0.93 (55.8 s CPU / 60.0 s)" for a line of bench output. */
export const fmtBusy = (b: BusyShare): string =>
  b.share === null ? 'busy n/a' : `busy ${b.share.toFixed(2)} (${b.cpuSeconds} s CPU / ${b.wallSeconds} s)`;
