/**
 * How busy another process is: its CPU time (user + system, all threads, from Linux /proc/<pid>/stat) over wall
 * time between two readings. The benches print it for the simulator per phase, so a phase whose figure the
 * simulator limits says so (issue 14: "its busy share is printed"). A share near 1.0 means one core fully used;
 * above 1.0 the process used more than one core (its GC and worker threads). Null where /proc is missing.
 */
import { readdirSync, readFileSync } from 'node:fs';

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

/** Parent pid of each running process (from /proc/<pid>/stat); empty where /proc is missing. */
function parentsByPid(): Map<number, number> {
  const out = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      out.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/** The command line of `pid`, arguments joined by spaces ('' when it cannot be read). */
function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** `pid` and every process below it. */
function treeOf(pid: number, parents: Map<number, number>): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [p, pp] of parents) if (pp === tree[i]) tree.push(p);
  return tree;
}

/** CPU seconds of one thread (`/proc/<pid>/task/<tid>/stat`); null when it cannot be read. */
function threadCpuSeconds(pid: number, tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * The processes of a bench run whose CPU a {@link CpuBudget} counts: named pids (the simulator, the worker), the
 * bench process itself, and the bench's other children recognised by their command line (Azurite, the Temporal
 * dev server); each with everything it started. Read when the budget starts, so servers started before count.
 */
export function benchProcesses(named: Record<string, number | undefined>): Record<string, number[]> {
  const parents = parentsByPid();
  const out: Record<string, number[]> = {};
  const taken = new Set<number>();
  for (const [name, pid] of Object.entries(named)) {
    if (pid === undefined) continue;
    out[name] = treeOf(pid, parents);
    for (const p of out[name]) taken.add(p);
  }
  for (const [pid, ppid] of parents) {
    if (ppid !== process.pid || taken.has(pid)) continue;
    const cmd = cmdlineOf(pid);
    const name = /azurite/i.test(cmd) ? 'azurite' : /temporal/i.test(cmd) ? 'temporal' : 'other children';
    (out[name] ??= []).push(...treeOf(pid, parents));
  }
  out.bench = [process.pid];
  return out;
}

/**
 * CPU seconds of one process group (a {@link benchProcesses} entry) and, for its first pid, its main thread and
 * its threads by name (`main`, Node's worker threads, V8's and libuv's pools, DuckDB's; threads that ended
 * between two readings are missed by the by-name figures, not by the total).
 */
interface CpuReading {
  total: number;
  /** The first process's own CPU (all its threads, those that ended included). */
  firstTotal: number | null;
  mainThread: number | null;
  threads: Map<string, number>;
}

/** The by-thread name of CPU spent by threads that ended during the step (counted by the process, not by name). */
export const ENDED_THREADS = 'threads that ended';

function threadsOf(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const cpu = threadCpuSeconds(pid, Number(tid));
    if (cpu === null) continue;
    let name = 'main';
    if (Number(tid) !== pid) {
      try {
        name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
    }
    out.set(name, (out.get(name) ?? 0) + cpu);
  }
  return out;
}

function readGroup(pids: number[]): CpuReading {
  let total = 0;
  for (const p of pids) total += cpuSecondsOf(p) ?? 0;
  const first = pids[0];
  return {
    total,
    firstTotal: first === undefined ? null : cpuSecondsOf(first),
    mainThread: first === undefined ? null : threadCpuSeconds(first, first),
    threads: first === undefined ? new Map<string, number>() : threadsOf(first),
  };
}

/** One group's share of a measured step: CPU seconds, its main thread's, and µs of CPU per row. */
export interface CpuShare {
  cpuSeconds: number;
  mainThreadCpuSeconds: number | null;
  microsPerRow: number | null;
  /** µs of CPU per row of the group's first process, by thread name (names below 0.5 µs per row left out). */
  threadsMicrosPerRow: Record<string, number>;
}

/**
 * CPU seconds each process of a bench run spends over one step (issue 14: the load's CPU budget per row). A
 * profiler samples wall time, so a thread descheduled on a loaded machine looks busy in whatever it was running;
 * CPU seconds from /proc count only the time each process actually ran, and per row they compare steps that
 * read the same rows (the raw read, the load) within one run.
 */
export class CpuBudget {
  private readonly start = new Map<string, CpuReading>();
  private wall0 = performance.now();

  constructor(private readonly groups: Record<string, number[]>) {
    this.restart();
  }

  /** Starts a new step. */
  restart(): void {
    for (const [name, pids] of Object.entries(this.groups)) this.start.set(name, readGroup(pids));
    this.wall0 = performance.now();
  }

  /** Each group's CPU since the last {@link restart}, per row of the step's `rows`. */
  stop(rows: number): { wallSeconds: number; processes: Record<string, CpuShare> } {
    const processes: Record<string, CpuShare> = {};
    for (const [name, pids] of Object.entries(this.groups)) {
      const now = readGroup(pids);
      const was = this.start.get(name)!;
      const cpu = now.total - was.total;
      processes[name] = {
        cpuSeconds: +cpu.toFixed(2),
        mainThreadCpuSeconds:
          now.mainThread === null || was.mainThread === null ? null : +(now.mainThread - was.mainThread).toFixed(2),
        microsPerRow: rows > 0 ? +((cpu * 1e6) / rows).toFixed(1) : null,
        threadsMicrosPerRow: {},
      };
      if (rows > 0) {
        let named = 0;
        for (const [thread, t] of now.threads) {
          const d = t - (was.threads.get(thread) ?? 0);
          named += d;
          const us = (d * 1e6) / rows;
          if (us >= 0.5) processes[name].threadsMicrosPerRow[thread] = +us.toFixed(1);
        }
        // A thread that ended before this reading (a Parquet writer thread beyond the idle pool, DuckDB's threads
        // of a closed writer) is in the process's CPU but in no name; show it, so the by-thread figures add up.
        if (now.firstTotal !== null && was.firstTotal !== null) {
          const us = ((now.firstTotal - was.firstTotal - named) * 1e6) / rows;
          if (us >= 0.5) processes[name].threadsMicrosPerRow[ENDED_THREADS] = +us.toFixed(1);
        }
      }
    }
    return { wallSeconds: +((performance.now() - this.wall0) / 1000).toFixed(2), processes };
  }
}
