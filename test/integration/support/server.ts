import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI is started from here so `src/cli.ts` and `data/calendars` resolve. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServerProcess {
  /** e.g. http://127.0.0.1:41234 (no trailing slash, no /v1). */
  base: string;
  child: ChildProcess;
  /** Everything the process wrote so far (for failure messages). */
  output(): string;
  /** SIGKILL: no shutdown hook runs, no buffer is flushed, like a power cut to the process. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful), SIGKILL if it does not exit in time. */
  stop(timeoutMs?: number): Promise<number | null>;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * `refund-desk serve` as a real child process (`node --import tsx src/cli.ts serve`) on a free port,
 * resolved once it prints its API address.
 */
export async function spawnServer(
  env: Record<string, string>,
  startTimeoutMs = 30_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      // The suites' bursts come from one address; the limits are tested on their own.
      RATE_LIMIT_PER_MINUTE: '1000000',
      SIGNIN_LIMIT_PER_MINUTE: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    out += d;
  });
  child.stderr?.on('data', (d: string) => {
    out += d;
  });
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${startTimeoutMs} ms:\n${out}`));
    }, startTimeoutMs);
    const onData = () => {
      const m = /API\s+(http:\/\/\S+?)\/v1\b/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before it started:\n${out}`));
    });
  });
  return {
    base,
    child,
    output: () => out,
    async kill9() {
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    },
    async stop(timeoutMs = 10_000) {
      const done = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await done;
      clearTimeout(timer);
      return code;
    },
  };
}
