import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inFlightStatuses, type RefundStatus } from '../../src/domain/refund-state.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';
import { ledgerViolations } from './support/ledger.js';

/**
 * Issue 12 meets issue 8: QR returns racing counter refunds for the last unit of a line, while a
 * refund of the same line is at the network (held there by the simulator's `delayMs` fault), and a
 * consumer's double submission. Judged by the simulator's own books (GET /ledger on its control
 * port): it holds exactly the refunds our store records as succeeded, each once; no sale is
 * refunded past its amount and no line past its quantity.
 */
const PAN = testPan('622202100001212');
const NETWORK_DELAY_MS = 1_500;

interface Effect {
  reference: string;
  kind: string;
  amount: number;
  reversedAt?: string | null;
}

const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';
const isFinal = (s: string) => ['succeeded', 'failed', 'canceled', 'rejected'].includes(s);

describe.each(storeTargets)('QR returns racing at the network on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let boss: Client;
  let control: string;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), {
      network: 'sim',
      dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-returns-race-')),
      networkDelayMs: 20,
      networkTimeoutMs: 8_000,
      workerBackoffMs: 100,
    });
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, '00', '123456');
    control = `http://127.0.0.1:${sys.simulator?.controlPort}`;
  });
  afterAll(async () => {
    await sys?.close();
  });
  beforeEach(async () => {
    await faults({ delayMs: 0 });
  });

  const faults = (patch: Record<string, unknown>) => call(control, 'PUT', '/faults', patch);
  const db = () => sys.ctx.store.db;

  async function sale(items: { sku: string; name: string; qty: number; unitAmount: number }[]) {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('RR'),
      amount: items.reduce((s, i) => s + i.qty * i.unitAmount, 0),
      currency: 'CNY',
      method: 'card',
      items,
      card: { pan: PAN, expiry: '3012' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string; amount: number };
  }
  const counterRefund = (paymentId: string, sku: string) =>
    cashier.call('POST', '/v1/refunds', {
      paymentId,
      items: [{ sku, qty: 1 }],
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
  const showReturn = (orderNo: string, sku: string, who = cashier) =>
    who.call('POST', '/v1/returns', { orderNo, items: [{ sku, qty: 1 }] });
  const submit = (token: string, key = `c-${randomUUID()}`) =>
    call(
      sys.base,
      'POST',
      `/v1/consumer/returns/${token}/submit`,
      { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' }, lang: 'zh-CN' },
      { 'idempotency-key': key },
    );
  const refundRow = (id: string) =>
    db().selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** Until the worker has stamped the hand-off: the refund's message is at the network. */
  const atNetwork = (id: string) =>
    until(
      () => refundRow(id),
      (r) => Boolean(r.handed_off_at),
    );
  async function inspectAndApprove(returnId: string, refundId: string) {
    const inspected = await boss.call('POST', `/v1/returns/${returnId}/inspection`, { result: 'accepted' });
    expect(inspected.status, JSON.stringify(inspected.body)).toBe(200);
    const approved = await boss.call('POST', `/v1/refunds/${refundId}/approve`, {
      approvals: [supervisor],
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'intact' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  }
  async function allFinal(paymentId: string) {
    return until(
      () => db().selectFrom('refunds').select(['id', 'status']).where('payment_id', '=', paymentId).execute(),
      (rows) => rows.every((r) => isFinal(r.status)),
      30_000,
    );
  }

  /**
   * The simulator's books against ours: every refund we record as succeeded is one standing refund
   * effect of its amount, and there is no other; per sale the refunds stay within the amount, per
   * line within the quantity sold; the store's own invariants hold.
   */
  async function judge() {
    const effects = (await call(control, 'GET', `/ledger?merchantId=${DEMO.merchantId}`)).body
      .effects as Effect[];
    const standing = effects.filter((e) => e.kind === 'refund' && !e.reversedAt);
    const refunds = await db().selectFrom('refunds').selectAll().execute();
    const succeeded = refunds.filter((r) => r.status === 'succeeded');
    // Counter refunds of the seeded demo sales do not run here: every card refund is one of ours.
    expect(standing.map((e) => e.reference).sort()).toEqual(
      succeeded
        .filter((r) => r.network_reference)
        .map((r) => r.network_reference)
        .sort(),
    );
    for (const r of succeeded) {
      const mine = standing.filter((e) => e.reference === r.network_reference);
      expect(mine, r.id).toHaveLength(1);
      expect(mine[0]?.amount, r.id).toBe(Number(r.amount_minor));
    }
    const payments = await db().selectFrom('payments').selectAll().execute();
    const items = await db().selectFrom('payment_items').selectAll().execute();
    for (const p of payments) {
      const mine = refunds.filter((r) => r.payment_id === p.id);
      const paid = mine
        .filter((r) => r.status === 'succeeded')
        .reduce((s, r) => s + Number(r.amount_minor), 0);
      expect(paid, p.id).toBeLessThanOrEqual(Number(p.amount_minor));
      const live = mine.filter(
        (r) => r.status === 'succeeded' || inFlightStatuses.includes(r.status as RefundStatus),
      );
      for (const line of items.filter((i) => i.payment_id === p.id)) {
        const units = live
          .flatMap((r) => JSON.parse(r.items_json) as { sku: string; qty: number }[])
          .filter((i) => i.sku === line.sku)
          .reduce((s, i) => s + i.qty, 0);
        expect(units, `${p.id} ${line.sku}`).toBeLessThanOrEqual(Number(line.qty));
      }
    }
    expect(await ledgerViolations(sys.ctx.store)).toEqual([]);
  }

  it('two QRs and a counter refund race for the last unit while a refund of the line is at the network', {
    timeout: 120_000,
  }, async () => {
    const winners: string[] = [];
    for (const variant of ['three-way', 'returns-only', 'three-way'] as const) {
      const s = await sale([
        { sku: 'LAST', name: '最后两件', qty: 2, unitAmount: 5_000 },
        { sku: 'KEEP', name: '不退', qty: 1, unitAmount: 3_000 },
      ]);
      await faults({ delayMs: NETWORK_DELAY_MS });
      const first = await counterRefund(s.id, 'LAST');
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      await atNetwork(first.body.id);

      // The last unit: two QRs (from two operators) and, in the three-way rounds, a counter refund.
      const racers = [
        showReturn(s.orderNo, 'LAST', cashier),
        showReturn(s.orderNo, 'LAST', boss),
        ...(variant === 'three-way' ? [counterRefund(s.id, 'LAST')] : []),
      ];
      const answers = await Promise.all(racers);
      const won = answers.filter((a) => a.status === 201);
      expect(won, JSON.stringify(answers.map((a) => [a.status, a.body.code]))).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 201)) {
        expect(a.status).toBe(409);
        expect(a.body.code).toBe('refund_exceeds_refundable');
      }
      const winner = won[0]?.body as { id: string; url?: string };
      winners.push(winner.url ? 'return' : 'counter');
      if (winner.url) {
        // Submitted, inspected and approved while the first refund is still at the network.
        const sent = await submit(tokenOf(winner.url));
        expect(sent.status, JSON.stringify(sent.body)).toBe(201);
        // The submission holds the unit: no further QR or counter refund of the line.
        expect((await showReturn(s.orderNo, 'LAST')).body.code).toBe('refund_exceeds_refundable');
        expect((await counterRefund(s.id, 'LAST')).body.code).toBe('refund_exceeds_refundable');
        await inspectAndApprove(winner.id, sent.body.refundId);
        const firstNow = await refundRow(first.body.id);
        expect(firstNow.handed_off_at).toBeTruthy();
        expect(['approved', 'processing'], 'the first refund still at the network').toContain(
          firstNow.status,
        );
        await atNetwork(sent.body.refundId);
      }
      // Nothing of the line is left; the other line still is.
      expect((await showReturn(s.orderNo, 'LAST')).body.code).toBe('refund_exceeds_refundable');
      const keep = await showReturn(s.orderNo, 'KEEP');
      expect(keep.status, JSON.stringify(keep.body)).toBe(201);
      expect((await cashier.call('POST', `/v1/returns/${keep.body.id}/cancel`)).status).toBe(200);

      await faults({ delayMs: 0 });
      const rows = await allFinal(s.id);
      expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'succeeded'));
      expect(rows).toHaveLength(2);
      await judge();
    }
    expect(winners).toContain('return');
  });

  it('a double submission of one return with two Idempotency-Keys makes one refund, paid once', {
    timeout: 60_000,
  }, async () => {
    for (let round = 0; round < 4; round++) {
      const s = await sale([{ sku: 'ONE', name: '一件', qty: 1, unitAmount: 4_200 }]);
      const ret = await showReturn(s.orderNo, 'ONE');
      expect(ret.status, JSON.stringify(ret.body)).toBe(201);
      const token = tokenOf(ret.body.url);
      const answers = await Promise.all([submit(token), submit(token), submit(token)]);
      const ok = answers.filter((a) => a.status === 201);
      expect(ok, JSON.stringify(answers.map((a) => [a.status, a.body.code]))).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 201)) {
        expect(a.status).toBe(409);
        expect(a.body.code).toBe('return_link_used');
      }
      // The winner's key replays its answer; a late submit with a new key is refused.
      const refunds = await db().selectFrom('refunds').select('id').where('payment_id', '=', s.id).execute();
      expect(refunds.map((r) => r.id)).toEqual([ok[0]?.body.refundId]);
      await inspectAndApprove(ret.body.id, ok[0]?.body.refundId);
      const rows = await allFinal(s.id);
      expect(rows.map((r) => r.status)).toEqual(['succeeded']);
    }
    await judge();
  });
  it("a QR return's refund is its terminal's: the batch settlement agrees with the network's", {
    timeout: 60_000,
  }, async () => {
    const s = await sale([{ sku: 'ONE', name: '一件', qty: 2, unitAmount: 3_300 }]);
    // Shown from the back office (no till of its own): the refund is the sale's terminal's.
    const fromOffice = await showReturn(s.orderNo, 'ONE', boss);
    // Shown at the till: the till's.
    const atTill = await showReturn(s.orderNo, 'ONE');
    for (const ret of [fromOffice, atTill]) {
      expect(ret.status, JSON.stringify(ret.body)).toBe(201);
      const sent = await submit(tokenOf(ret.body.url));
      expect(sent.status, JSON.stringify(sent.body)).toBe(201);
      await inspectAndApprove(ret.body.id, sent.body.refundId);
      expect((await refundRow(sent.body.refundId)).terminal_id).toBe(DEMO.terminalId);
    }
    expect((await allFinal(s.id)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    await judge();
    const settled = await cashier.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId });
    expect(settled.status, JSON.stringify(settled.body)).toBe(201);
    expect(settled.body.reconciliation.balanced, JSON.stringify(settled.body.reconciliation)).toBe(true);
    expect(settled.body.reconciliation.local).toEqual(settled.body.reconciliation.network);
    // Both refunds are in the closed batch.
    const batch = await db()
      .selectFrom('refunds')
      .select('settlement_id')
      .where('payment_id', '=', s.id)
      .execute();
    expect(batch.every((r) => r.settlement_id !== null)).toBe(true);
  });
});
