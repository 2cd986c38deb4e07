import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { recordFigures } from '../support/figures.js';
import { storeTargets } from '../support/stores.js';
import { call, orderNo, supervisor, testPan, until } from '../support/system.js';
import { ledgerViolations } from './support/ledger.js';
import { type ServerProcess, spawnServer } from './support/server.js';

/**
 * PRODUCT.md §3.8 / §4 / §8: a crash at any moment leaves nothing half-done. A real server process
 * takes a burst of concurrent refunds (and approvals / cancellations of waiting ones) while its
 * outbox worker talks to the network; it is killed with SIGKILL mid-burst, the store is checked
 * as the crash left it, the server is restarted and the unanswered requests are retried with
 * their Idempotency-Keys. After the last cycle the worker finishes and the store is checked again.
 */

const CYCLES = 3;
const BURST = 60;
const CREATE_KEY = 'crash-create-';

/** Small seeded PRNG (mulberry32) so a failing run can be replayed with CRASH_SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req {
  key: string;
  method: 'POST';
  path: string;
  body: unknown;
}

interface Answered {
  req: Req;
  status: number;
  body: { id?: string; code?: string; amount?: number; paymentId?: string };
}
type Outcome = Answered | { req: Req; error: string };

async function send(base: string, token: string, req: Req): Promise<Outcome> {
  try {
    const r = await call(base, req.method, req.path, req.body, {
      authorization: `Bearer ${token}`,
      'idempotency-key': req.key,
    });
    return { req, status: r.status, body: r.body ?? {} };
  } catch (err) {
    return { req, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Fire everything at once; SIGKILL the server after `killAfterResponses` answers or `killAfterMs`
 * after the first answer, whichever comes first (so some answers always precede the kill).
 */
async function burstAndKill(
  server: ServerProcess,
  token: string,
  reqs: Req[],
  killAfterResponses: number,
  killAfterMs: number,
): Promise<{ outcomes: Outcome[]; answeredBeforeKill: number }> {
  let answered = 0;
  let killing: Promise<void> | null = null;
  let answeredBeforeKill = 0;
  const kill = () => {
    if (!killing) {
      answeredBeforeKill = answered;
      killing = server.kill9();
    }
    return killing;
  };
  let timer: NodeJS.Timeout | undefined;
  const outcomes = await Promise.all(
    reqs.map((req) =>
      send(server.base, token, req).then((o) => {
        if ('status' in o && !killing) {
          answered++;
          timer ??= setTimeout(kill, killAfterMs);
          if (answered >= killAfterResponses) void kill();
        }
        return o;
      }),
    ),
  );
  clearTimeout(timer);
  await kill();
  return { outcomes, answeredBeforeKill };
}

/** Statuses a refund request may legitimately get in this workload. */
function acceptable(o: Answered): boolean {
  if (o.status === 200 || o.status === 201) return true;
  return (
    o.status === 409 &&
    // refund_at_network: a cancel that arrives after the worker handed the refund to the network.
    ['refund_exceeds_refundable', 'invalid_state_transition', 'refund_at_network'].includes(o.body.code ?? '')
  );
}

describe.each(storeTargets.map((t) => [t.name, t] as const))('crash (kill -9) on %s', (_name, target) => {
  it('a crash (kill -9) during a refund leaves no half-written state', { timeout: 150_000 }, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
    const random = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const note = `seed ${seed} (replay with CRASH_SEED=${seed})`;

    const url = await target.freshUrl();
    const dataDir = mkdtempSync(join(tmpdir(), 'refund-desk-crash-'));
    const env = {
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      NETWORK_DELAY_MS: '50',
      NETWORK: 'in-process',
      LOG_LEVEL: 'silent',
      WORKER_LEASE_MS: '3000',
    };
    let server: ServerProcess | null = await spawnServer(env);
    const checkStore = async (settled: boolean) => {
      const store = openStore(url, { poolSize: 2 });
      try {
        return {
          violations: await ledgerViolations(store, { settled, createKeyPrefix: CREATE_KEY }),
          refunds: await store.db.selectFrom('refunds').selectAll().execute(),
        };
      } finally {
        await store.close();
      }
    };

    try {
      const session = await call(server.base, 'POST', '/v1/sessions', {
        terminalId: 'T0000001',
        operatorNo: '01',
        password: '1111',
      });
      expect(session.status).toBe(201);
      const token = session.body.token as string;

      // A few sales to refund against: card (by the network) and cash (paid at the counter). The burst
      // asks for more than they hold, so the refundable remainder is contended as well.
      const payments: { id: string; method: string; skus: string[] }[] = [];
      for (let i = 0; i < 8; i++) {
        const method = i % 3 === 2 ? 'cash' : 'card';
        const withItems = i % 4 === 1;
        const body = {
          orderNo: orderNo('CRASH'),
          amount: 30_000,
          currency: 'CNY',
          method,
          ...(method === 'card' ? { card: { pan: testPan('622202100001234'), expiry: '2912' } } : {}),
          ...(withItems
            ? {
                items: [
                  { sku: 'A', name: 'item A', qty: 5, unitAmount: 3_000 },
                  { sku: 'B', name: 'item B', qty: 10, unitAmount: 1_500 },
                ],
              }
            : {}),
        };
        const r = await call(server.base, 'POST', '/v1/payments', body, {
          authorization: `Bearer ${token}`,
          'idempotency-key': `crash-pay-${i}`,
        });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        payments.push({ id: r.body.id, method, skus: withItems ? ['A', 'B'] : [] });
      }

      /** Every refund the server answered 201 for (before a kill or on a retry). */
      const acknowledged = new Map<string, { amount: number; paymentId: string }>();
      let waiting: string[] = [];
      let unanswered = 0;
      let killedWithAnswers = 0;

      for (let cycle = 0; cycle < CYCLES; cycle++) {
        if (!server) throw new Error('no server');
        const reqs: Req[] = [];
        for (let i = 0; i < BURST; i++) {
          const roll = random();
          if (cycle > 0 && waiting.length > 0 && roll < 0.15) {
            reqs.push({
              key: `crash-approve-${cycle}-${i}`,
              method: 'POST',
              path: `/v1/refunds/${pick(waiting)}/approve`,
              body: { approvals: [supervisor] },
            });
            continue;
          }
          if (cycle > 0 && waiting.length > 0 && roll < 0.2) {
            reqs.push({
              key: `crash-cancel-${cycle}-${i}`,
              method: 'POST',
              path: `/v1/refunds/${pick(waiting)}/cancel`,
              body: { note: 'customer changed their mind' },
            });
            continue;
          }
          const p = pick(payments);
          const byItems = p.skus.length > 0 && random() < 0.5;
          const reason =
            random() < 0.1
              ? { code: 'other', note: random() < 0.5 ? 'no' : 'wrong size delivered' } // "no": the scheme declines (57)
              : { code: pick(['quality_issue', 'expired_goods', 'transaction_error', 'duplicate_payment']) };
          reqs.push({
            key: `${CREATE_KEY}${cycle}-${i}`,
            method: 'POST',
            path: '/v1/refunds',
            body: {
              paymentId: p.id,
              ...(byItems
                ? { items: [{ sku: pick(p.skus), qty: 1 + Math.floor(random() * 2) }] }
                : { amount: 300 + Math.floor(random() * 3_700) }),
              reason,
              ...(p.method === 'cash' && random() < 0.5 ? { method: 'cash' } : {}),
              ...(random() < 0.6 ? { approvals: [supervisor] } : {}),
            },
          });
        }

        const { outcomes, answeredBeforeKill } = await burstAndKill(
          server,
          token,
          reqs,
          20 + Math.floor(random() * 20),
          100 + Math.floor(random() * 300),
        );
        server = null;
        killedWithAnswers += answeredBeforeKill;
        for (const o of outcomes) {
          if ('error' in o) continue;
          expect(acceptable(o), `${note}: ${o.req.path} → ${o.status} ${JSON.stringify(o.body)}`).toBe(true);
          if (o.status === 201 && o.body.id)
            acknowledged.set(o.body.id, { amount: o.body.amount ?? -1, paymentId: o.body.paymentId ?? '' });
        }
        const lost = outcomes.filter((o) => 'error' in o);
        unanswered += lost.length;

        // The store exactly as the crash left it.
        const crashed = await checkStore(false);
        expect(crashed.violations, `${note}, cycle ${cycle}, right after the kill`).toEqual([]);
        for (const [id, ack] of acknowledged) {
          const row = crashed.refunds.find((r) => r.id === id);
          expect(row, `${note}: refund ${id} answered 201 before the kill is gone`).toBeDefined();
          expect(Number(row?.amount_minor)).toBe(ack.amount);
          expect(row?.payment_id).toBe(ack.paymentId);
        }

        // Restart on the same store; the same session token still works; retry what got no answer.
        const restarted = await spawnServer(env);
        server = restarted;
        const retried = await Promise.all(lost.map((o) => send(restarted.base, token, o.req)));
        for (const o of retried) {
          if ('error' in o) throw new Error(`${note}: retry after restart failed: ${o.error}`);
          expect(acceptable(o), `${note}: retry ${o.req.path} → ${o.status} ${JSON.stringify(o.body)}`).toBe(
            true,
          );
          if (o.status === 201 && o.body.id)
            acknowledged.set(o.body.id, { amount: o.body.amount ?? -1, paymentId: o.body.paymentId ?? '' });
        }
        const after = await checkStore(false);
        expect(after.violations, `${note}, cycle ${cycle}, after restart and retries`).toEqual([]);
        waiting = after.refunds.filter((r) => r.status === 'requested').map((r) => r.id);
      }

      recordFigures('crash (kill -9 mid-burst)', {
        store: target.name,
        seed,
        crashCycles: CYCLES,
        requests: CYCLES * BURST,
        answeredBeforeKills: killedWithAnswers,
        retriedAfterRestart: unanswered,
        refundsAcknowledged: acknowledged.size,
      });
      // The kills must really have hit requests in flight, or the test proves nothing.
      expect(unanswered, `${note}: no request was in flight at any kill`).toBeGreaterThan(0);
      expect(killedWithAnswers, `${note}: every kill came before any answer`).toBeGreaterThan(0);

      // Let the restarted worker finish everything, including rows a killed worker had claimed.
      const store = openStore(url, { poolSize: 2 });
      try {
        await until(
          async () => {
            const busy = await store.db
              .selectFrom('refunds')
              .select('id')
              .where('status', 'in', ['approved', 'processing'])
              .execute();
            const pending = await store.db
              .selectFrom('outbox')
              .select('id')
              .where('status', '=', 'pending')
              .execute();
            return busy.length + pending.length;
          },
          (n) => n === 0,
          60_000,
        );
      } finally {
        await store.close();
      }
      await server?.stop();
      server = null;
      const final = await checkStore(true);
      expect(final.violations, `${note}, after the worker finished`).toEqual([]);
      for (const id of acknowledged.keys())
        expect(
          final.refunds.some((r) => r.id === id),
          `${note}: refund ${id} lost`,
        ).toBe(true);
      // Something of each kind actually happened.
      const statuses = new Set(final.refunds.map((r) => r.status));
      expect(statuses.has('succeeded'), `${note}: statuses ${[...statuses].join(',')}`).toBe(true);
      expect(statuses.has('requested') || statuses.has('canceled'), note).toBe(true);
    } finally {
      await server?.kill9();
    }
  });
});
