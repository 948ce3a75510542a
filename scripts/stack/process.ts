/**
 * Starting and stopping the local stack's server processes: spawn with output to a log file, wait for
 * readiness (failing fast, with the log's tail, when the process dies first), stop with SIGTERM then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Raised when a stack part cannot start; the message says what is missing and what to do. */
export class StackStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackStartError';
  }
}

export interface SpawnServiceOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  /** Detached services outlive the command that started them (`stack:up`); attached ones die with it (tests). */
  detached: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface SpawnedService {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
}

export function spawnService(options: SpawnServiceOptions): SpawnedService {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      stdio: ['ignore', fd, fd],
      detached: options.detached,
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    if (child.pid === undefined) {
      throw new StackStartError(`${options.name}: could not start "${options.command}" (is it installed?)`);
    }
    if (options.detached) child.unref();
    return { name: options.name, child, pid: child.pid, logFile: options.logFile };
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log written)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export function portIsOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Waits until `probe` succeeds, the process exits (→ error with its log tail) or the timeout passes (→ error with
 * its log tail and `whatToDo`, when given).
 */
export async function waitUntilReady(
  service: SpawnedService,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  whatToDo?: string,
): Promise<void> {
  const started = Date.now();
  let exited: string | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  };
  service.child.once('exit', onExit);
  try {
    while (Date.now() - started < timeoutMs) {
      if (exited) {
        throw new StackStartError(
          `${service.name} ${exited} before it was ready. Its log (${service.logFile}):\n${logTail(service.logFile)}`,
        );
      }
      if (await probe()) return;
      await sleep(200);
    }
    throw new StackStartError(
      `${service.name} was not ready after ${Math.round(timeoutMs / 1000)} s.${whatToDo ? ` ${whatToDo}` : ''} Its log (${service.logFile}):\n${logTail(service.logFile)}`,
    );
  } finally {
    service.child.off('exit', onExit);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops a process (and, when it leads one, its process group): SIGTERM, then SIGKILL after `graceMs`.
 * SIGTERM first matters for Azurite, which loses its last ~5 s of metadata on SIGKILL.
 */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isAlive(pid)) return 'not-running';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return 'killed';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // the process group of a detached leader
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** A port the OS reports free right now (for tests: ephemeral ports avoid clashing with a running stack). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
