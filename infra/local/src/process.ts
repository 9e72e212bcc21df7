import { pollUntil } from '@suite/contracts';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureDir, logDir, stateDir } from './paths.js';

/** Stops with an install hint when a required tool is missing. */
export function requireTool(command: string, hint: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'pipe' }).status === 0;
  if (!found) throw new Error(`"${command}" is not installed. ${hint}`);
}

export function hasTool(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'pipe' }).status === 0;
}

/** Runs a command to completion without blocking the event loop; throws with its output tail on failure. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-64 * 1024);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      keep(chunk);
    });
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve(stdout);
      const tail = output.trim().split('\n').slice(-25).join('\n');
      reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${tail}`));
    });
  });
}

export interface Daemon {
  name: string;
  pid: number;
  logFile: string;
}

function pidFile(name: string): string {
  return join(ensureDir(stateDir), `${name}.pid`);
}

/** Starts a detached server whose output goes to `<state>/logs/<name>.log`. */
export function startDaemon(name: string, command: string, args: string[], cwd?: string): Daemon {
  const logFile = join(ensureDir(logDir), `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name}`);
  writeFileSync(pidFile(name), String(child.pid));
  return { name, pid: child.pid, logFile };
}

export function readPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a daemon we started (TERM, then KILL after `graceMs`). */
export async function stopDaemon(name: string, graceMs = 15_000): Promise<boolean> {
  const pid = readPid(name);
  rmSync(pidFile(name), { force: true });
  if (!pid || !isAlive(pid)) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  return true;
}

/** Whether `probe` resolves (true) or rejects (false). */
export function succeeds(probe: Promise<unknown>): Promise<boolean> {
  return probe.then(
    () => true,
    () => false,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it succeeds or `timeoutMs` passes; the last error is reported (contracts' `pollUntil`). */
export async function waitFor(
  what: string,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  logFile?: string,
): Promise<void> {
  const where = logFile ? ` (see ${logFile})` : '';
  await pollUntil(
    `${what} did not become ready${where}`,
    async () => (await probe(), true),
    timeoutMs,
    250,
  );
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
