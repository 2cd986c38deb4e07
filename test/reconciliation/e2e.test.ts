import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../src/demo.js';
import { reconcileFileCommand } from '../../src/service/reconciliation.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

/**
 * PRODUCT.md §6 end to end: card sales, a refund and a void go over ISO 8583 to the simulator;
 * its settlement file of the day reconciles balanced against our ledger, through the API (file
 * fetched from the network or sent in the request) and the CLI; then both ledgers are tampered
 * with and every kind of mismatch is listed.
 */
const PAN = testPan('622202100007777');

// Both sides run on one shifted clock at midday UTC: the settlement day cannot roll over mid-test.
const startedAt = Date.now();
const midday = new Date(startedAt);
midday.setUTCHours(12, 0, 0, 0);
const clock = () => new Date(midday.getTime() + (Date.now() - startedAt));
const DAY = midday.toISOString().slice(0, 10);

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}
async function cli(argv: string[], env: NodeJS.ProcessEnv, progress = false): Promise<Cli> {
  let stdout = '';
  let stderr = '';
  const code = await reconcileFileCommand(argv, {
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    progress,
    clock,
  });
  return { code, stdout, stderr };
}

describe.each(storeTargets)('reconciliation against the simulator on $name', (target) => {
  let sim: Simulator;
  let system: TestSystem;
  let cashier: Client;
  let boss: Client;
  const dir = mkdtempSync(join(tmpdir(), 'refund-desk-recon-e2e-'));
  const sales: { id: string; amount: number; reference: string }[] = [];
  let refund: { id: string; reference: string; netAmount: number };
  let voided: { id: string; reference: string; saleReference: string };

  beforeAll(async () => {
    sim = await startSimulator({
      dataDir: join(dir, 'sim'),
      cardPort: 0,
      controlPort: 0,
      log: pino({ level: 'silent' }),
      seed: 42,
      merchants: [
        {
          id: DEMO.merchantId,
          name: DEMO.merchantName,
          balanceMinor: 100_000_000,
          terminals: [DEMO.terminalId],
        },
      ],
      clock,
    });
    const previous = process.env.SETTLEMENT_FILE_URL;
    process.env.SETTLEMENT_FILE_URL = `http://127.0.0.1:${sim.controlPort}/settlement-files/{merchantId}/{day}`;
    try {
      system = await startTestSystem(
        await target.freshUrl(),
        {
          network: 'host',
          acquirerPort: sim.cardPort,
          acquirerHost: '127.0.0.1',
          dataDir: join(dir, 'data'),
        },
        { clock },
      );
    } finally {
      if (previous === undefined) delete process.env.SETTLEMENT_FILE_URL;
      else process.env.SETTLEMENT_FILE_URL = previous;
    }
    cashier = await signIn(system.base, '01', '1111');
    boss = await signIn(system.base, supervisor.operatorNo, supervisor.password);

    for (const amount of [10_000, 20_000, 30_000]) {
      const p = await cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('REC'),
        amount,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN, expiry: '2912' },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      sales.push({ id: p.body.id, amount, reference: p.body.network.reference });
    }
    const r = await cashier.call(
      'POST',
      '/v1/refunds',
      { paymentId: sales[0]?.id, amount: 2_500, reason: { code: 'quality_issue' }, approvals: [supervisor] },
      { 'idempotency-key': `rec-refund-${target.name}` },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const done = await until(
      () => cashier.call('GET', `/v1/refunds/${r.body.id}`),
      (x) => x.body.status === 'succeeded' || x.body.status === 'failed',
    );
    expect(done.body.status).toBe('succeeded');
    refund = { id: r.body.id, reference: done.body.network.reference, netAmount: done.body.netAmount };
    const v = await cashier.call('POST', `/v1/payments/${sales[1]?.id}/void`, { approvals: [supervisor] });
    expect(v.status, JSON.stringify(v.body)).toBe(200);
    const voidRow = sim.ledger.db
      .prepare("select rrn from txns where kind = 'void' and original_rrn = ?")
      .get(sales[1]?.reference) as { rrn: string };
    voided = { id: sales[1]?.id ?? '', reference: voidRow.rrn, saleReference: sales[1]?.reference ?? '' };
  });

  afterAll(async () => {
    await system?.close();
    await sim?.close();
  });

  it('reconciles the day balanced from the file the network publishes, once per Idempotency-Key', async () => {
    const key = { 'idempotency-key': `rec-day-${target.name}` };
    const r = await boss.call('POST', '/v1/reconciliations', { day: DAY }, key);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    // Demo seeding sold twice by card; then 3 sales, 1 refund, 1 void.
    expect(r.body).toMatchObject({
      day: DAY,
      source: 'network',
      balanced: true,
      matched: 7,
      mismatchCount: 0,
      mismatches: [],
      invalidRows: [],
    });
    expect(r.body.totals.network).toMatchObject({
      sales: { count: 5, amount: 25_800 + 880_000 + 60_000 },
      voids: { count: 1, amount: 20_000 },
      refunds: { count: 1, amount: refund.netAmount },
    });
    const { reversed: _, ...approved } = r.body.totals.network;
    expect(r.body.totals.ledger).toEqual(approved);

    const again = await boss.call('POST', '/v1/reconciliations', { day: DAY }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(r.body.id);
  });

  it('reconciles a file sent in the request, and refuses a cashier, a bad day and a bad header', async () => {
    const csv = sim.ledger.settlementCsv(DEMO.merchantId, DAY);
    const r = await boss.call('POST', '/v1/reconciliations', { day: DAY, csv });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ source: 'upload', balanced: true, matched: 7 });

    const forbidden = await cashier.call('POST', '/v1/reconciliations', { day: DAY, csv });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('forbidden');
    expect((await cashier.call('GET', '/v1/reconciliations')).status).toBe(403);

    const badDay = await boss.call('POST', '/v1/reconciliations', { day: '2026-02-30' });
    expect(badDay.status).toBe(400);
    expect(badDay.body.code).toBe('validation_failed');
    const badHeader = await boss.call('POST', '/v1/reconciliations', { day: DAY, csv: 'rrn,amount\n1,2\n' });
    expect(badHeader.status).toBe(400);
    expect(badHeader.body.detail).toMatch(/^line 1: the header must be/);
  });

  it('the CLI reconciles a file on disk balanced (exit 0) and draws its progress bar', async () => {
    const file = join(dir, `settlement-${DAY}.csv`);
    writeFileSync(file, sim.ledger.settlementCsv(DEMO.merchantId, DAY));
    const env = { DATABASE_URL: system.url, DATA_DIR: join(dir, 'data') };
    const ok = await cli([file, '--day', DAY], env, true);
    expect(ok.code, ok.stderr).toBe(0);
    const out = JSON.parse(ok.stdout);
    expect(out).toMatchObject({ source: 'file', balanced: true, matched: 7, createdBy: 'cli' });
    expect(ok.stderr).toMatch(/\[#{30}\] 100% {2}8 lines\n$/);

    expect((await cli([file], env)).code).toBe(2);
    expect((await cli([file, '--day', DAY, '--merchant', '898100000000009'], env)).code).toBe(1);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'not,a,settlement,file\n');
    const refused = await cli([bad, '--day', DAY], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/line 1: the header must be/);
  });

  it('lists every kind of mismatch once both ledgers are tampered with', async () => {
    const [saleA, , saleC] = sales;
    const demoSale = (
      await system.ctx.store.db
        .selectFrom('payments')
        .select('network_reference')
        .where('order_no', '=', 'DEMO-1001')
        .executeTakeFirstOrThrow()
    ).network_reference as string;
    // The network: one amount changed, the refund reversed, a sale lost, a sale we never made.
    sim.ledger.db
      .prepare('update txns set amount_minor = amount_minor + 1 where rrn = ?')
      .run(saleC?.reference);
    sim.ledger.db.prepare("update txns set status = 'reversed' where kind = 'refund'").run();
    sim.ledger.db.prepare('delete from txns where rrn = ?').run(demoSale);
    const stranger = '999900000001';
    sim.ledger.db
      .prepare(
        `insert into txns (rrn, merchant_id, terminal_id, stan, batch_no, kind, amount_minor, currency, card_hash,
          original_rrn, status, response_code, reason, request_key, created_at)
         values (?, ?, ?, '999999', '000001', 'sale', 4200, 'CNY', null, null, 'approved', '00', null, 'stranger', ?)`,
      )
      .run(stranger, DEMO.merchantId, DEMO.terminalId, clock().toISOString());
    // Ours: the voided payment forgets its void.
    await system.ctx.store.db
      .updateTable('payments')
      .set({ voided: 0 })
      .where('id', '=', voided.id)
      .execute();

    const r = await boss.call('POST', '/v1/reconciliations', { day: DAY });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.balanced).toBe(false);
    const listed = (r.body.mismatches as { kind: string; reference: string }[])
      .map((m) => `${m.kind} ${m.reference}`)
      .sort();
    expect(listed).toEqual(
      [
        `amount_differs ${saleC?.reference}`,
        `status_differs ${refund.reference}`,
        `status_differs ${voided.reference}`,
        `status_differs ${voided.saleReference}`,
        `missing_in_ledger ${stranger}`,
        `missing_in_network ${demoSale}`,
      ].sort(),
    );
    const byKind = (kind: string, reference: string) =>
      r.body.mismatches.find(
        (m: { kind: string; reference: string }) => m.kind === kind && m.reference === reference,
      );
    expect(byKind('amount_differs', saleC?.reference ?? '')).toMatchObject({
      networkRow: { amount: 30_001, kind: 'sale' },
      ledgerRow: { amount: 30_000, paymentId: saleC?.id },
    });
    expect(byKind('status_differs', refund.reference)).toMatchObject({
      networkRow: { status: 'reversed', kind: 'refund', originalRrn: saleA?.reference },
      ledgerRow: { status: 'succeeded', refundId: refund.id },
    });
    expect(byKind('status_differs', voided.reference)).toMatchObject({
      networkRow: { kind: 'void' },
      ledgerRow: { kind: 'sale', status: 'captured', paymentId: voided.id },
    });
    expect(byKind('missing_in_network', demoSale).ledgerRow).toMatchObject({ kind: 'sale', amount: 25_800 });
    // The simulator marks a voided sale `voided`: that row differs from our captured payment too.
    expect(byKind('status_differs', voided.saleReference)).toMatchObject({
      networkRow: { kind: 'sale', status: 'voided' },
      ledgerRow: { kind: 'sale', status: 'captured' },
    });
    expect(r.body.matched).toBe(2); // sale A and the 880,000 demo sale

    const got = await boss.call('GET', `/v1/reconciliations/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body);
    const list = await boss.call('GET', '/v1/reconciliations?limit=2');
    expect(list.body.data.map((x: { id: string }) => x.id)[0]).toBe(r.body.id);
    expect(list.body.data[0]).toMatchObject({ balanced: false, mismatchCount: 6 });
    expect(list.body.hasMore).toBe(true);
    expect((await boss.call('GET', '/v1/reconciliations/rec_unknown')).status).toBe(404);

    // The CLI, in its own process, sees the same and exits 3.
    const file = join(dir, `tampered-${DAY}.csv`);
    writeFileSync(file, sim.ledger.settlementCsv(DEMO.merchantId, DAY));
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'reconcile', file, '--day', DAY, '--merchant', DEMO.merchantId],
      {
        env: { ...process.env, DATABASE_URL: system.url, DATA_DIR: join(dir, 'data') },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(child.status, child.stderr).toBe(3);
    expect(child.stderr).not.toMatch(/%/); // not a terminal: no progress bar
    const printed = JSON.parse(child.stdout);
    expect(printed).toMatchObject({ source: 'file', balanced: false, mismatchCount: 6, createdBy: 'cli' });
  });
});
