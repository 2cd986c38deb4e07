import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../src/demo.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type ServerProcess, spawnServer } from '../integration/support/server.js';
import { storeTargets } from '../support/stores.js';
import { type Client, call, signIn, supervisor, testPan } from '../support/system.js';

/**
 * PRODUCT.md §3 steps 6–8 over a real link: the service talks ISO 8583 over TCP to the simulator
 * running apart from it; the simulator drops 20 % of answers, answers 10 % too late and delays
 * the rest by 300 ms; the service is killed with SIGKILL mid-run and restarted. Afterwards every
 * refund has ended, the simulator's ledger holds each succeeded refund exactly once and no failed
 * one, and the batch settles balanced.
 */
const PAN = testPan('622202100005555');
const REFUNDS = 64;

describe.each(storeTargets)('card link under faults, with a crash, on $name', (target) => {
  let sim: Simulator | null = null;
  let server: ServerProcess | null = null;
  afterAll(async () => {
    await server?.kill9().catch(() => undefined);
    await sim?.close();
  });

  it('ends every refund succeeded or failed, applies each succeeded one once, and settles balanced', async () => {
    const simDir = mkdtempSync(join(tmpdir(), 'refund-desk-sim-'));
    sim = await startSimulator({
      dataDir: simDir,
      cardPort: 0,
      controlPort: 0,
      log: pino({ level: 'silent' }),
      seed: 20261124,
      timeoutAnswerMs: 2_000,
      merchants: [
        {
          id: DEMO.merchantId,
          name: DEMO.merchantName,
          balanceMinor: 100_000_000,
          terminals: [DEMO.terminalId],
        },
      ],
    });
    const simLedger = sim.ledger;
    const control = `http://127.0.0.1:${sim.controlPort}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'refund-desk-link-'));
    const env = {
      DATABASE_URL: await target.freshUrl(),
      DATA_DIR: dataDir,
      NETWORK: 'host',
      ACQUIRER_PORT: String(sim.cardPort),
      NETWORK_TIMEOUT_MS: '700',
      WORKER_BACKOFF_MS: '100',
      WORKER_LEASE_MS: '2000',
    };
    server = await spawnServer(env);
    let cashier: Client = await signIn(server.base, '01', '1111');

    const payments: { id: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const p = await cashier.call('POST', '/v1/payments', {
        orderNo: `LINK-${target.name}-${i}`,
        amount: 100_000,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN, expiry: '2912' },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      payments.push(p.body);
    }

    const faults = await call(control, 'PUT', '/faults', { dropRate: 0.2, delayMs: 300, timeoutRate: 0.1 });
    expect(faults.body).toMatchObject({ dropRate: 0.2, delayMs: 300, timeoutRate: 0.1 });

    const bodies = Array.from({ length: REFUNDS }, (_, i) => ({
      paymentId: payments[i % payments.length]?.id,
      amount: 1_000 + i,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    }));
    const created = new Map<number, string>();
    const send = async (i: number) => {
      const r = await cashier.call('POST', '/v1/refunds', bodies[i], {
        'idempotency-key': `link-${target.name}-${i}`,
      });
      if (r.status === 201) created.set(i, r.body.id);
    };
    // First half, then SIGKILL while the worker is talking to the simulator.
    for (let i = 0; i < REFUNDS / 2; i += 4)
      await Promise.all([0, 1, 2, 3].map((d) => send(i + d).catch(() => undefined)));
    await new Promise((r) => setTimeout(r, 400));
    await server.kill9();
    server = await spawnServer(env);
    cashier = await signIn(server.base, '01', '1111');
    // Retry everything not acknowledged (same keys: no duplicates), then the second half.
    for (let i = 0; i < REFUNDS; i++) if (!created.has(i)) await send(i);
    expect(created.size).toBe(REFUNDS);

    // Keep the faults on until every refund went to the network at least once.
    const attempted = () =>
      (
        simLedger.db
          .prepare("select count(distinct amount_minor) as n from txns where kind = 'refund'")
          .get() as { n: number }
      ).n;
    const faultsUntil = Date.now() + 60_000;
    while (attempted() < REFUNDS && Date.now() < faultsUntil) await new Promise((r) => setTimeout(r, 200));
    if (attempted() < REFUNDS) {
      const { openStore } = await import('../../src/store/db.js');
      const st = openStore(env.DATABASE_URL);
      const seen = (
        simLedger.db.prepare("select distinct amount_minor a from txns where kind = 'refund'").all() as {
          a: number;
        }[]
      ).map((x) => x.a);
      const missing = await st.db
        .selectFrom('refunds')
        .selectAll()
        .where('net_amount_minor', 'not in', seen)
        .execute();
      for (const m of missing) {
        console.log(
          m.id,
          m.status,
          m.created_at,
          await st.db.selectFrom('outbox').selectAll().where('ref_id', '=', m.id).execute(),
        );
        console.log(
          await st.db.selectFrom('refund_events').selectAll().where('refund_id', '=', m.id).execute(),
        );
        console.log(await st.db.selectFrom('link_attempts').selectAll().where('ref_id', '=', m.id).execute());
      }
      await st.close();
    }
    expect(attempted()).toBe(REFUNDS);
    await call(control, 'PUT', '/faults', { dropRate: 0, delayMs: 0, timeoutRate: 0 });
    const deadline = Date.now() + 120_000;
    let refunds: { id: string; status: string; netAmount: number; network: { reference: string | null } }[] =
      [];
    for (;;) {
      refunds = (await cashier.call('GET', '/v1/refunds?limit=100')).body.data;
      if (
        refunds.length === REFUNDS &&
        refunds.every((r) => r.status === 'succeeded' || r.status === 'failed')
      )
        break;
      if (Date.now() > deadline)
        throw new Error(
          `refunds still open: ${JSON.stringify(refunds.filter((r) => !['succeeded', 'failed'].includes(r.status)))}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }

    const standing = sim.ledger.effects({ merchantId: DEMO.merchantId }).filter((e) => e.kind === 'refund');
    const succeeded = refunds.filter((r) => r.status === 'succeeded');
    const failed = refunds.filter((r) => r.status === 'failed');
    expect(succeeded.length).toBeGreaterThan(REFUNDS / 2);
    // Each succeeded refund exactly once on the network, with its amount; nothing else.
    expect(standing).toHaveLength(succeeded.length);
    for (const r of succeeded) {
      const effects = standing.filter((e) => e.reference === r.network.reference);
      expect(effects, `refund ${r.id}`).toHaveLength(1);
      expect(effects[0]?.amount).toBe(r.netAmount);
    }
    for (const r of failed) expect(standing.some((e) => e.reference === r.network.reference)).toBe(false);
    // The faults really happened: reversals were sent and acknowledged.
    const all = sim.ledger.effects({ all: true, merchantId: DEMO.merchantId });
    console.log(
      `${target.name}: ${succeeded.length} succeeded, ${failed.length} failed, ${all.filter((e) => e.reversedAt).length} reversed`,
    );
    expect(all.filter((e) => e.reversedAt).length).toBeGreaterThanOrEqual(5);

    const settlement = await cashier.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId });
    expect(settlement.status, JSON.stringify(settlement.body)).toBe(201);
    expect(settlement.body.reconciliation).toMatchObject({ balanced: true, differences: [] });
  }, 240_000);
});
