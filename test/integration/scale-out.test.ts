import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO, testPan } from '../../src/demo.js';
import { seededRandom } from '../../src/simulator/faults.js';
import { DEMO_TMK } from '../../src/simulator/ledger.js';
import { openStore, type Store } from '../../src/store/db.js';
import { type Claims, checkAll, drain } from '../sim/checks.js';
import { undocumented } from '../sim/run.js';
import { recordFigures } from '../support/figures.js';
import { storeTargets } from '../support/stores.js';
import { call, type TestSystem, until } from '../support/system.js';
import { type CliProcess, type RoundRobin, spawnCli, startRoundRobin } from './support/cluster.js';
import { type ServerProcess, spawnServer } from './support/server.js';

/**
 * PRODUCT.md §8, proven: the production topology on one machine. The bundled network simulator
 * runs as its own process (the acquirer host at the far end of the link); two API processes
 * (WORKER=0) and two outbox workers share one PostgreSQL database; a round-robin load balancer
 * spreads every request over both API processes. Concurrent sales, card and cash refunds (card
 * refunds reach the network only through the workers), voids, approvals and cancels go through
 * it, with the network slowed down; one worker is killed with SIGKILL while outbox rows are claimed.
 * Once the outbox has drained, the network's books and ours must agree to the fen (the
 * simulation's checks, test/sim/checks.ts), nothing may be stuck and nothing sent twice.
 * Replay a schedule with SCALE_SEED.
 */

const postgres = storeTargets.find((t) => t.name === 'postgres');
const SALES = 24;
const VOIDS = 5;
const SAME_KEY_SENDS = 3;
/** The network answers this much later during the run, so work is in flight when the worker dies. */
const NETWORK_DELAY_MS = 150;
/**
 * Approvals alternate between the demo's two supervisors: one operator's password checks run a few
 * at a time (argon2id), and a burst on one operator waits, then answers 429 `rate_limited`.
 */
const SUPERVISORS = [
  { operatorNo: '00', password: '123456' },
  { operatorNo: '02', password: '222222' },
] as const;
const APPROVE_TRIES = 5;
const FINAL = new Set(['succeeded', 'failed', 'canceled', 'rejected']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
type Body = any;
interface Sale {
  id: string;
  orderNo: string;
  method: 'card' | 'cash';
  amount: number;
}

/** Every call goes through the load balancer; every answer is judged against the documented ones. */
class Load {
  readonly counts = new Map<string, number>();
  readonly undocumented: string[] = [];
  readonly claims: Claims = {
    canceled: new Map(),
    voided: new Map(),
    refunds: new Map(),
    payments: new Map(),
    sameKey: [],
  };
  readonly tokens = { cashier: '', supervisor: '', admin: '' };
  requests = 0;
  private keys = 0;
  private approvals = 0;

  /** The next supervisor's approval, round robin. */
  private supervisor() {
    return [SUPERVISORS[this.approvals++ % SUPERVISORS.length]];
  }

  constructor(
    readonly base: string,
    readonly seed: number,
  ) {}

  async api(who: keyof Load['tokens'], method: string, path: string, body?: unknown, key?: string) {
    const headers: Record<string, string> = { authorization: `Bearer ${this.tokens[who]}` };
    if (method === 'POST') headers['idempotency-key'] = key ?? `scale-${this.seed}-${this.keys++}`;
    this.requests++;
    const r = await call(this.base, method, path, body, headers);
    const label = `${method} ${path.replace(/\/[a-z]+_[0-9A-Za-z]+/, '/:id')} → ${r.status}${r.body?.code ? ` ${r.body.code}` : ''}`;
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    const bad = undocumented(r.status, r.body, r.headers.get('content-type') ?? '');
    if (bad) this.undocumented.push(`${method} ${path} → ${bad}`);
    return { status: r.status, body: r.body as Body };
  }

  async signIn(who: keyof Load['tokens'], operatorNo: string, password: string): Promise<void> {
    this.requests++;
    const r = await call(this.base, 'POST', '/v1/sessions', {
      terminalId: DEMO.terminalId,
      operatorNo,
      password,
    });
    if (r.status !== 201) throw new Error(`sign-in ${operatorNo}: ${r.status} ${JSON.stringify(r.body)}`);
    this.tokens[who] = r.body.token as string;
  }

  async sale(n: number, random: () => number): Promise<Sale | null> {
    const method = n % 4 === 3 ? 'cash' : 'card';
    const amount = 20_000 + Math.floor(random() * 60_000);
    const orderNo = `SCALE-${this.seed}-${n}`;
    const r = await this.api('cashier', 'POST', '/v1/payments', {
      orderNo,
      amount,
      currency: 'CNY',
      method,
      ...(method === 'card' ? { card: { pan: testPan('622202100007777'), expiry: '2912' } } : {}),
    });
    if (r.status !== 201) return null;
    this.claims.payments.set(r.body.id, { amount, orderNo, step: n });
    return { id: r.body.id, orderNo, method, amount };
  }

  async refund(p: Sale, amount: number, opts: { approved: boolean; declined?: boolean; key?: string }) {
    const r = await this.api(
      'cashier',
      'POST',
      '/v1/refunds',
      {
        paymentId: p.id,
        amount,
        // "other" with a note too short to say anything: the scheme declines it (57), the refund fails.
        reason: opts.declined ? { code: 'other', note: 'no' } : { code: 'quality_issue' },
        // Sends under one key carry one body: the same supervisor, not the next in turn.
        ...(opts.approved ? { approvals: opts.key ? [SUPERVISORS[0]] : this.supervisor() } : {}),
      },
      opts.key,
    );
    if (r.status === 201)
      this.claims.refunds.set(r.body.id, { amount: r.body.amount, paymentId: p.id, step: 0 });
    return r;
  }

  async voidSale(p: Sale) {
    const r = await this.api('cashier', 'POST', `/v1/payments/${p.id}/void`, {
      approvals: this.supervisor(),
    });
    if (r.status === 200 && r.body?.status === 'voided') this.claims.voided.set(p.id, 0);
    return r;
  }

  async cancel(refundId: string) {
    const r = await this.api('supervisor', 'POST', `/v1/refunds/${refundId}/cancel`, { note: 'scale-out' });
    if (r.status === 200 && r.body?.status === 'canceled') this.claims.canceled.set(refundId, 0);
    return r;
  }

  /** A refund in review must leave it: a 429 (password checks queued too long) is tried again, as a terminal would. */
  async approve(refundId: string) {
    for (let attempt = 1; ; attempt++) {
      const r = await this.api('supervisor', 'POST', `/v1/refunds/${refundId}/approve`, {
        approvals: this.supervisor(),
      });
      if (r.status !== 429 || attempt === APPROVE_TRIES) return r;
      await sleep(1_000);
    }
  }
}

/** What the workers still have to do, straight from the shared store. */
async function backlog(store: Store) {
  const now = new Date().toISOString();
  const outbox = await store.db
    .selectFrom('outbox')
    .select(['id', 'locked_until'])
    .where('status', '=', 'pending')
    .execute();
  const atNetwork = await store.db
    .selectFrom('refunds')
    .select('id')
    .where('status', 'in', ['processing', 'succeeded', 'failed'])
    .execute();
  return {
    pending: outbox.length,
    claimed: outbox.filter((o) => o.locked_until !== null && o.locked_until > now).length,
    atNetwork: atNetwork.length,
  };
}

interface Deployment {
  /** The simulator's control API (`GET /ledger`, `PUT /faults`). */
  control: string;
  simDir: string;
  balancer: RoundRobin;
  workers: CliProcess[];
}

/** What a run started, stopped in afterAll (which runs even when the test times out). */
interface Started {
  processes: (ServerProcess | CliProcess)[];
  closers: (() => unknown)[];
}

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `refund-desk-scale-${name}-`));

/**
 * The simulator, then the first API process (it seeds the demo once the schema is there), then the
 * second API process and both workers at once, all with one configuration, behind the balancer.
 */
async function deploy(url: string, started: Started): Promise<Deployment> {
  const simDir = tempDir('sim');
  const sim = await spawnCli(
    ['network-sim'],
    { DATA_DIR: simDir, ACQUIRER_PORT: '0', SIM_CONTROL_PORT: '0' },
    /ISO 8583 on 127\.0\.0\.1:(\d+), control API (http:\/\/127\.0\.0\.1:\d+)/,
  );
  started.processes.push(sim);
  const [, cardPort = '', control = ''] = sim.ready;
  const shared = {
    DATABASE_URL: url,
    NETWORK: 'host',
    ACQUIRER_HOST: '127.0.0.1',
    ACQUIRER_PORT: cardPort,
    TERMINAL_MASTER_KEY: DEMO_TMK,
    DATA_KEY: randomBytes(32).toString('base64'),
    TOKEN_KEY: randomBytes(32).toString('base64'),
    NETWORK_TIMEOUT_MS: '3000',
    WORKER_LEASE_MS: '2000',
    WORKER_BACKOFF_MS: '100',
  };
  const api = (n: number, seed: boolean) =>
    spawnServer({ ...shared, WORKER: '0', SEED_DEMO: seed ? '1' : '0', DATA_DIR: tempDir(`api${n}`) });
  const worker = (n: number) =>
    spawnCli(
      ['worker'],
      { ...shared, SEED_DEMO: '0', LOG_LEVEL: 'info', DATA_DIR: tempDir(`worker${n}`) },
      /outbox worker running/,
    );
  const api1 = await api(1, true);
  started.processes.push(api1);
  const [api2, ...workers] = await Promise.all([api(2, false), worker(1), worker(2)]);
  started.processes.push(api2, ...workers);
  const balancer = await startRoundRobin([api1.base, api2.base]);
  started.closers.push(() => balancer.close());
  return { control, simDir, balancer, workers };
}

interface Kill {
  atMs: number;
  pending: number;
  claimed: number;
}

/** SIGKILL `worker` once refunds are at the network and outbox rows are claimed (or after 20 s). */
async function killMidRun(store: Store, worker: CliProcess, t0: number): Promise<Kill> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const b = await backlog(store);
    if ((b.atNetwork >= 2 && b.claimed > 0) || Date.now() > deadline) {
      await worker.kill9();
      return { atMs: Date.now() - t0, pending: b.pending, claimed: b.claimed };
    }
    await sleep(20);
  }
}

/** A refund left for review, and what the reviewer will do with it (drawn up front: seeds replay). */
interface Waiting {
  id: string;
  approve: boolean;
  delayMs: number;
}

/**
 * Wave 1: voids (two racing a refund of the same sale), refunds approved at the counter or left
 * for review, declined ones, and refunds sent several times under one key at once (the sends land
 * on both API processes), each key sent once more after its answer.
 */
async function firstWave(load: Load, sales: Sale[], random: () => number) {
  const voided = sales.filter((s) => s.method === 'card').slice(0, VOIDS);
  const refundable = sales.filter((s) => !voided.includes(s));
  const waiting: Waiting[] = [];
  const running: Promise<unknown>[] = [];
  const later = (ms: number, f: () => Promise<unknown>) => running.push(sleep(ms).then(f));
  for (const [i, p] of voided.entries()) {
    later(random() * 800, () => load.voidSale(p));
    if (i < 2) later(random() * 800, () => load.refund(p, Math.floor(p.amount / 4), { approved: true }));
  }
  for (const p of refundable) {
    for (let k = 0; k < 2; k++) {
      const approved = random() < 0.65;
      const declined = approved && random() < 0.1;
      const amount = Math.max(100, Math.floor(p.amount * (0.1 + random() * 0.25)));
      const review = { approve: random() < 0.5, delayMs: random() * 500 };
      later(random() * 1_500, async () => {
        const r = await load.refund(p, amount, { approved, declined });
        if (r.status === 201 && r.body.status === 'requested') waiting.push({ id: r.body.id, ...review });
      });
    }
  }
  const sameKey = refundable
    .slice(0, 2)
    .map((p, g) => ({ p, key: `scale-${load.seed}-same-${g}`, ids: [] as string[] }));
  const send = async (g: (typeof sameKey)[number]) => {
    const r = await load.refund(g.p, 150, { approved: true, key: g.key });
    if (r.status === 201) g.ids.push(r.body.id);
    return r;
  };
  for (const g of sameKey) for (let n = 0; n < SAME_KEY_SENDS; n++) later(200, () => send(g));
  await Promise.all(running);
  // Once answered, a key replays its one refund, whichever API process the retry reaches.
  const replays = await Promise.all(sameKey.map(send));
  for (const g of sameKey) load.claims.sameKey.push({ step: 0, key: g.key, ids: g.ids });
  return { refundable, waiting, replays };
}

/**
 * Wave 2: the review queue is worked off (approve or cancel), and six refunds approved at the
 * counter are canceled 0–400 ms later: canceled before a worker hands them off, refused after.
 */
async function secondWave(load: Load, refundable: Sale[], waiting: Waiting[], random: () => number) {
  const running: Promise<unknown>[] = waiting.map((w) =>
    sleep(w.delayMs).then(() => (w.approve ? load.approve(w.id) : load.cancel(w.id))),
  );
  for (let i = 0; i < 6; i++) {
    const p = refundable[Math.floor(random() * refundable.length)] as Sale;
    const gapMs = random() * 400;
    running.push(
      load.refund(p, 200, { approved: true }).then(async (r) => {
        if (r.status !== 201) return;
        await sleep(gapMs);
        await load.cancel(r.body.id);
      }),
    );
  }
  await Promise.all(running);
}

/**
 * The books checkAll compares: our store, the card host's (its SQLite file, read-only) and, in the
 * bundled topology, the QR wallet's; this topology runs no wallet, so an empty one stands in.
 */
function books(store: Store, simDir: string, started: Started): { sys: TestSystem; host: Database.Database } {
  const host = new Database(join(simDir, 'network-sim.db'), { readonly: true, fileMustExist: true });
  const noWallet = new Database(':memory:');
  noWallet.exec('create table qr_refunds (out_request_no text, trade_no text, status text)');
  started.closers.push(
    () => host.close(),
    () => noWallet.close(),
  );
  const sys = {
    ctx: { store },
    simulator: { ledger: { db: host }, wallet: { ledger: { db: noWallet, audit: () => [] } } },
  } as unknown as TestSystem;
  return { sys, host };
}

/** Nothing sent twice: one approved void per sale at the host, one answered refund message per refund, no reference shared. */
async function duplicates(store: Store, host: Database.Database) {
  const doubleVoids = host
    .prepare(
      "select original_rrn, count(*) as n from txns where kind = 'void' and status = 'approved' group by original_rrn having n > 1",
    )
    .all();
  const answered = await store.db
    .selectFrom('link_attempts')
    .select(['ref_id', 'reference'])
    .where('kind', '=', 'refund')
    .where('state', '=', 'answered')
    .where('response_code', '=', '00')
    .execute();
  return {
    doubleVoids,
    answered: answered.length,
    refundsAnsweredTwice: answered.length - new Set(answered.map((a) => a.ref_id)).size,
    referencesShared: answered.length - new Set(answered.map((a) => a.reference)).size,
  };
}

describe.skipIf(!postgres)('scale-out on PostgreSQL', () => {
  const started: Started = { processes: [], closers: [] };
  afterAll(async () => {
    for (const close of started.closers.reverse()) await close();
    await Promise.all(started.processes.map((p) => p.kill9()));
  }, 30_000);

  it('two API processes and two workers behind a load balancer keep the books equal to the network, through a worker killed mid-run', {
    timeout: 90_000,
  }, async () => {
    const t0 = Date.now();
    const seed = Number(process.env.SCALE_SEED ?? Date.now() % 2 ** 31);
    const note = `seed ${seed} (replay with SCALE_SEED=${seed})`;
    const random = seededRandom(seed);
    const url = await (postgres as NonNullable<typeof postgres>).freshUrl();
    const store = openStore(url, { poolSize: 2 });
    started.closers.push(() => store.close());

    const { control, simDir, balancer, workers } = await deploy(url, started);
    const load = new Load(balancer.base, seed);
    await load.signIn('cashier', '01', '1111');
    await load.signIn('supervisor', '00', '123456');
    await load.signIn('admin', '99', '12345678');
    const upAt = Date.now() - t0;

    const sales = (await Promise.all(Array.from({ length: SALES }, (_, n) => load.sale(n, random)))).filter(
      (s): s is Sale => s !== null,
    );
    expect(sales.length, `${note}: sales refused ${JSON.stringify([...load.counts])}`).toBe(SALES);
    expect((await call(control, 'PUT', '/faults', { delayMs: NETWORK_DELAY_MS })).status).toBe(200);
    const kill = killMidRun(store, workers[0] as CliProcess, t0);
    const { refundable, waiting, replays } = await firstWave(load, sales, random);
    expect(
      replays.map((r) => r.status),
      `${note}: a key replayed after its answer`,
    ).toEqual(replays.map(() => 201));
    const wave1At = Date.now() - t0;
    await secondWave(load, refundable, waiting, random);
    const killed = await kill;
    const wave2At = Date.now() - t0;
    await call(control, 'PUT', '/faults', { delayMs: 0 });

    // The surviving worker takes over what the dead one had claimed once its lease runs out.
    const health = await until(
      async () => (await call(balancer.base, 'GET', '/v1/health')).body,
      (h) => h?.outboxPending === 0,
      40_000,
    );
    expect(health, note).toMatchObject({ store: 'ok', network: 'up', outboxPending: 0, outboxDead: 0 });
    const drainedAt = Date.now() - t0;
    const { sys, host } = books(store, simDir, started);
    expect((await drain(sys, 20_000)).ok, `${note}: still in motion after the outbox drained`).toBe(true);
    expect((await load.api('admin', 'GET', '/v1/outbox/dead')).body.data, note).toEqual([]);

    // The demo's QR sale went to the in-process stand-in (NETWORK=host without QR_WALLET_URL),
    // whose books are in our store, not the card host's: the card host cannot vouch for it.
    const demoQr = await store.db.selectFrom('payments').select('id').where('method', '=', 'qr').execute();
    const violations = await checkAll({
      sys,
      control,
      claims: load.claims,
      audit: () => load.api('admin', 'GET', '/v1/audit/verify'),
    });
    expect(
      violations.filter((v) => !demoQr.some((p) => v.includes(p.id))),
      note,
    ).toEqual([]);
    expect(load.undocumented, note).toEqual([]);
    const sent = await duplicates(store, host);
    expect(sent, note).toMatchObject({ doubleVoids: [], refundsAnsweredTwice: 0, referencesShared: 0 });

    // Nothing stuck: every refund reached a final status.
    const refunds = await store.db.selectFrom('refunds').select(['id', 'status']).execute();
    expect(
      refunds.filter((r) => !FINAL.has(r.status)),
      note,
    ).toEqual([]);

    // The run did what it claims: both API processes served, refunds went through the network,
    // and a worker died with work left, which the other one finished.
    const byStatus = (s: string) => refunds.filter((r) => r.status === s).length;
    expect(
      balancer.served.every((n) => n > 20),
      `${note}: ${balancer.served}`,
    ).toBe(true);
    expect(sent.answered, note).toBeGreaterThan(10);
    expect(byStatus('canceled'), note).toBeGreaterThan(0);
    expect(load.claims.voided.size, note).toBeGreaterThan(0);
    expect(killed.pending, `${note}: the worker was killed with nothing left to do`).toBeGreaterThan(0);
    recordFigures('scale-out (2 API + 2 workers, 1 killed)', {
      store: 'postgres',
      seed,
      requests: balancer.served.reduce((a, b) => a + b, 0),
      sales: sales.length,
      voids: load.claims.voided.size,
      refunds: refunds.length,
      workersKilled: 1,
      outboxPendingAtKill: killed.pending,
      submittedTwice: 0,
      durationMs: Date.now() - t0,
    });
    process.stdout.write(
      `${[
        `scale-out (${note}): ${Date.now() - t0} ms in all: 5 processes up at ${upAt} ms, wave 1 done at ${wave1At} ms, wave 2 at ${wave2At} ms, outbox drained at ${drainedAt} ms`,
        `  requests through the load balancer: ${balancer.served.reduce((a, b) => a + b, 0)} (API 1: ${balancer.served[0]}, API 2: ${balancer.served[1]}), ${load.requests} of them the workload's`,
        `  sales ${sales.length}, voids ${load.claims.voided.size}, refunds ${refunds.length}: succeeded ${byStatus('succeeded')}, failed ${byStatus('failed')}, canceled ${byStatus('canceled')}; refund messages answered by the host ${sent.answered}`,
        `  kills: 1 worker (SIGKILL) at ${killed.atMs} ms with ${killed.pending} outbox rows pending, ${killed.claimed} claimed`,
        `  answers: ${[...load.counts].map(([k, v]) => `${k} ×${v}`).join('; ')}`,
      ].join('\n')}\n`,
    );
  });
});
