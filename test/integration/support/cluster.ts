import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import { repoRoot } from './server.js';

/** A `refund-desk` command other than `serve` (server.ts starts that one) as a child process. */
export interface CliProcess {
  child: ChildProcess;
  /** The groups of the line that said the process was ready. */
  ready: RegExpExecArray;
  output(): string;
  /** SIGKILL: no shutdown hook runs, like a power cut to the process. */
  kill9(): Promise<void>;
  /** SIGTERM, SIGKILL if it does not exit in time. */
  stop(timeoutMs?: number): Promise<void>;
}

const MAX_OUTPUT_CHARS = 200_000;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** `node --import tsx src/cli.ts <args>`, resolved once its output matches `ready`. */
export async function spawnCli(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  startTimeoutMs = 30_000,
): Promise<CliProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d: string) => {
    // Keep the tail: a worker logging at info for a whole run must not grow without bound.
    out = (out + d).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.setEncoding('utf8').on('data', collect);
  child.stderr?.setEncoding('utf8').on('data', collect);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within ${startTimeoutMs} ms:\n${out}`));
    }, startTimeoutMs);
    const onData = () => {
      const m = ready.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve(m);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before it started:\n${out}`));
    });
  });
  return {
    child,
    ready: match,
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
      await done;
      clearTimeout(timer);
    },
  };
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: passed on, the
 * upstream's `keep-alive: timeout=72` would make clients reuse sockets this proxy already closed.
 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name)));
}

export interface RoundRobin {
  base: string;
  /** Requests passed to each upstream, in the order given. */
  served: number[];
  close(): Promise<void>;
}

/**
 * The load balancer of the production topology, as small as it gets: each request goes to the
 * next upstream in turn, streamed both ways; an upstream that cannot be reached answers 502.
 * No stickiness: any API process must be able to answer any request.
 */
export async function startRoundRobin(upstreams: string[]): Promise<RoundRobin> {
  const served = upstreams.map(() => 0);
  let next = 0;
  const server = createServer((req, res) => {
    const i = next++ % upstreams.length;
    served[i] = (served[i] ?? 0) + 1;
    const target = new URL(req.url ?? '/', upstreams[i]);
    const forward = request(
      target,
      { method: req.method, headers: { ...endToEnd(req.headers), host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
      },
    );
    forward.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ status: 502, code: 'bad_gateway', detail: err.message }));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (typeof addr !== 'object' || !addr) throw new Error('the load balancer has no address');
  return {
    base: `http://127.0.0.1:${addr.port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
