/**
 * The load generator: a process of its own (never the server's), driven over IPC by bench/main.ts.
 *
 * Closed loop: `concurrency` requests in flight; a request goes out when the previous one on its
 * connection is answered. Open loop: request i is sent at t0 + i / rate whatever the server does,
 * and its latency is counted from that scheduled time, so a stalled server is charged for the
 * requests it held back (no coordinated omission). Both use node:http with a keep-alive Agent.
 *
 * Request i of a refund job goes to target i mod T (a cashier session) and to that target's
 * payment ⌊i / T⌋ mod P, with the Idempotency-Key `<keyPrefix>-<i>`. A 201 is a success; any other
 * answer, a timeout or a socket error is an error, and the first few are returned verbatim.
 */
import http from 'node:http';

export interface RefundTarget {
  headers: Record<string, string>;
  paymentIds: string[];
  /** Approvals to send, used in turn (counter refunds); none: no approvals. */
  approvals?: { operatorNo: string; password: string }[][];
}

export interface RefundJob {
  kind: 'closed' | 'open';
  host: string;
  port: number;
  path: string;
  targets: RefundTarget[];
  count: number;
  /** Closed loop: requests in flight. Open loop: the most sockets opened. */
  concurrency: number;
  /** Open loop: requests per second offered. */
  rate?: number;
  keyPrefix: string;
  amountMinor: number;
  requestTimeoutMs: number;
  /** Closed loop: stop sending after this long (the rest is counted as not sent). */
  deadlineMs: number;
}

export interface GetJob {
  kind: 'get';
  host: string;
  port: number;
  paths: string[];
  headers: Record<string, string>;
  requestTimeoutMs: number;
}

export interface LoadResult {
  ok: number;
  errors: number;
  notSent: number;
  /** Successful requests only. */
  latenciesMs: number[];
  elapsedMs: number;
  errorSamples: string[];
  /** Distinct `id`s in the 201 bodies (each success must have created its own refund). */
  distinctIds: number;
}

type Message = { type: 'job'; id: number; job: RefundJob | GetJob };

const MAX_ERROR_SAMPLES = 5;

function send(
  agent: http.Agent,
  job: { host: string; port: number; requestTimeoutMs: number },
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | null,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: job.host,
        port: job.port,
        method,
        path,
        headers: body ? { ...headers, 'content-length': body.length } : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(job.requestTimeoutMs, () =>
      req.destroy(new Error(`no answer in ${job.requestTimeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

function refundRequest(job: RefundJob, i: number): { headers: Record<string, string>; body: Buffer } {
  const t = job.targets[i % job.targets.length];
  if (!t) throw new Error('a refund job needs at least one target');
  const paymentId = t.paymentIds[Math.floor(i / job.targets.length) % t.paymentIds.length];
  const approvals = t.approvals?.[i % t.approvals.length];
  const body = {
    paymentId,
    amount: job.amountMinor,
    reason: { code: 'quality_issue' },
    ...(approvals ? { approvals } : {}),
  };
  return {
    headers: { ...t.headers, 'content-type': 'application/json', 'idempotency-key': `${job.keyPrefix}-${i}` },
    body: Buffer.from(JSON.stringify(body)),
  };
}

function newResult(): LoadResult {
  return { ok: 0, errors: 0, notSent: 0, latenciesMs: [], elapsedMs: 0, errorSamples: [], distinctIds: 0 };
}

async function runRefunds(job: RefundJob): Promise<LoadResult> {
  const result = newResult();
  const ids = new Set<string>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const one = async (i: number, startedAt: number) => {
    const { headers, body } = refundRequest(job, i);
    try {
      const res = await send(agent, job, 'POST', job.path, headers, body);
      const done = performance.now();
      if (res.status === 201) {
        result.ok++;
        result.latenciesMs.push(done - startedAt);
        const id = (JSON.parse(res.text) as { id?: unknown }).id;
        if (typeof id === 'string') ids.add(id);
      } else {
        result.errors++;
        if (result.errorSamples.length < MAX_ERROR_SAMPLES)
          result.errorSamples.push(`${res.status} ${res.text.slice(0, 300)}`);
      }
    } catch (err) {
      result.errors++;
      if (result.errorSamples.length < MAX_ERROR_SAMPLES) result.errorSamples.push(String(err));
    }
  };
  const t0 = performance.now();
  if (job.kind === 'closed') {
    let next = 0;
    const deadline = t0 + job.deadlineMs;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= job.count) return;
        if (performance.now() > deadline) {
          result.notSent++;
          continue;
        }
        await one(i, performance.now());
      }
    };
    await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, worker));
  } else {
    const rate = job.rate ?? 1;
    const intervalMs = 1000 / rate;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < job.count; ) {
      const now = performance.now();
      // Send every request whose time has come; each is timed from its scheduled instant.
      while (i < job.count && t0 + i * intervalMs <= now) {
        inFlight.push(one(i, t0 + i * intervalMs));
        i++;
      }
      if (i < job.count) {
        const wait = t0 + i * intervalMs - performance.now();
        await new Promise((r) => setTimeout(r, Math.max(0, Math.floor(wait))));
      }
    }
    await Promise.all(inFlight);
  }
  result.elapsedMs = performance.now() - t0;
  result.distinctIds = ids.size;
  agent.destroy();
  return result;
}

/** GET each path in turn (one at a time: latency, not throughput); a 200 is a success. */
async function runGets(job: GetJob): Promise<LoadResult> {
  const result = newResult();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const t0 = performance.now();
  for (const path of job.paths) {
    const started = performance.now();
    try {
      const res = await send(agent, job, 'GET', path, job.headers, null);
      if (res.status === 200) {
        result.ok++;
        result.latenciesMs.push(performance.now() - started);
      } else {
        result.errors++;
        if (result.errorSamples.length < MAX_ERROR_SAMPLES)
          result.errorSamples.push(`${res.status} ${path} ${res.text.slice(0, 300)}`);
      }
    } catch (err) {
      result.errors++;
      if (result.errorSamples.length < MAX_ERROR_SAMPLES) result.errorSamples.push(`${path}: ${String(err)}`);
    }
  }
  result.elapsedMs = performance.now() - t0;
  agent.destroy();
  return result;
}

process.on('message', (msg: Message) => {
  if (msg?.type !== 'job') return;
  const run = msg.job.kind === 'get' ? runGets(msg.job) : runRefunds(msg.job);
  run.then(
    (result) => process.send?.({ type: 'result', id: msg.id, result }),
    (err: unknown) => process.send?.({ type: 'error', id: msg.id, message: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
