// The benchmarks' services: each a process of its own, like in production, on the same machine as the load generator.
import { spawn, type ChildProcess } from 'node:child_process';
import { pollUntil } from '@suite/contracts';

/**
 * Starts a TypeScript entry point as its own process (its logs discarded) with `env` and `PORT`,
 * and waits until `ready` answers 200. BENCH_PROFILE=<dir> writes V8 CPU profiles there.
 */
export async function startChild(
  entry: string,
  port: number,
  ready: string,
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<ChildProcess> {
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  const proc = spawn(
    process.execPath,
    [...profile, '--conditions=source', '--import', 'tsx', entry],
    {
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', 'ignore', process.env.BENCH_CHILD_STDERR ? 'inherit' : 'ignore'],
    },
  );
  const answered = () =>
    fetch(`http://127.0.0.1:${port}${ready}`).then(
      (r) => (r.status === 200 ? true : undefined),
      () => undefined,
    );
  await pollUntil(`${entry} did not become ready`, answered, timeoutMs, 200);
  return proc;
}
