/**
 * An order's timeline (GET /v1/orders/:orderNo → `timeline`, issue 11's order management) on both
 * stores, with the card link and the network simulator: a card sale, a refund the issuer declines
 * (simulator fault `issuerDown`: 91), a refund whose answer is lost (fault `dropRate`: reversed,
 * then sent again), an amount adjustment, the voucher printed twice and sent by e-mail and SMS.
 * Every one of them is an entry, oldest first, the network's messages with their response codes
 * in words.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeFor } from '../../src/domain/outcomes.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import type { Caller } from '../../src/service/context.js';
import { getOrder } from '../../src/service/orders.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

const PAN = testPan('622202100005555');
const reason = { code: 'quality_issue' as const };

describe.each(storeTargets)('order timeline on $name', (target) => {
  let sim: Simulator;
  let sys: TestSystem;
  let cashier: Client;
  let boss: Client;
  const order = orderNo('TL');
  let saleId = '';
  let declinedId = '';
  let reversedId = '';
  let adjustment: { id: string; refundId: string };
  let timeline: TimelineEntry[] = [];
  let answer: Record<string, unknown> = {};

  const refundOf = async (amount: number) => {
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: saleId,
      amount,
      reason,
      approvals: [supervisor],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };
  const settled = (id: string, status: 'succeeded' | 'failed') =>
    until(
      () => cashier.call('GET', `/v1/refunds/${id}`),
      (r) => r.body.status === status,
      30_000,
    );

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-timeline-'));
    sim = await startSimulator({
      dataDir: join(dir, 'sim'),
      cardPort: 0,
      controlPort: 0,
      log: pino({ level: 'silent' }),
      seed: 7,
      timeoutAnswerMs: 5_000,
      merchants: [
        {
          id: DEMO.merchantId,
          name: DEMO.merchantName,
          balanceMinor: 100_000_000,
          terminals: [DEMO.terminalId],
        },
      ],
    });
    sys = await startTestSystem(await target.freshUrl(), {
      network: 'host',
      acquirerHost: '127.0.0.1',
      acquirerPort: sim.cardPort,
      networkTimeoutMs: 1_000,
      dataDir: join(dir, 'data'),
    });
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, supervisor.operatorNo, supervisor.password);

    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: order,
      amount: 10_000,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    saleId = sale.body.id;

    // The issuer is down: the refund is declined with 91 and nothing moves.
    sim.faults.set({ issuerDown: true });
    declinedId = await refundOf(2_000);
    await settled(declinedId, 'failed');
    sim.faults.set({ issuerDown: false });

    // The answer is lost: the request is reversed (冲正), then sent again and approved.
    sim.faults.set({ dropRate: 1 });
    reversedId = await refundOf(3_000);
    await until(
      () =>
        sys.ctx.store.db
          .selectFrom('link_attempts')
          .select('state')
          .where('ref_id', '=', reversedId)
          .execute(),
      (rows) => rows.some((r) => r.state === 'reversing'),
      15_000,
    );
    sim.faults.set({ dropRate: 0 });
    await settled(reversedId, 'succeeded');

    const adjusted = await cashier.call('POST', `/v1/orders/${order}/adjustments`, {
      originalAmount: 7_000,
      newAmount: 6_500,
      reason: { code: 'other', note: 'price corrected' },
      approvals: [supervisor],
    });
    expect(adjusted.status, JSON.stringify(adjusted.body)).toBe(201);
    adjustment = { id: adjusted.body.id, refundId: adjusted.body.refund.id };
    await settled(adjustment.refundId, 'succeeded');

    // The voucher is text, not JSON: fetched as the terminal prints it.
    for (let i = 0; i < 2; i++) {
      const printed = await fetch(`${sys.base}/v1/refunds/${reversedId}/receipt?format=text`, {
        headers: { authorization: `Bearer ${cashier.token}` },
      });
      expect(printed.status).toBe(200);
      await printed.text();
    }
    const sent = await cashier.call('POST', `/v1/refunds/${reversedId}/receipt/send`, {
      email: 'buyer.wang@example.com',
      phone: '13800138000',
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    await until(
      () => cashier.call('GET', `/v1/refunds/${reversedId}/receipt/sends`),
      (r) => r.body.data.length === 2 && r.body.data.every((s: { status: string }) => s.status === 'sent'),
    );

    const got = await boss.call('GET', `/v1/orders/${order}`);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    answer = got.body;
    timeline = got.body.timeline;
  }, 120_000);

  afterAll(async () => {
    await sys?.close();
    await sim?.close();
  });

  const titles = (filter: (e: TimelineEntry) => boolean = () => true) =>
    timeline.filter(filter).map((e) => e.title);
  const of = (refundId: string) => (e: TimelineEntry) => e.refundId === refundId;
  const indexOf = (pred: (e: TimelineEntry) => boolean) => {
    const i = timeline.findIndex(pred);
    expect(i, 'entry present').toBeGreaterThanOrEqual(0);
    return i;
  };

  it('lists everything oldest first, within its cap', () => {
    expect(answer.timelineTruncated).toBe(false);
    const times = timeline.map((e) => e.at);
    expect(times).toEqual([...times].sort());
    // The sale is recorded once the network approved it.
    expect(titles().slice(0, 3)).toEqual(['network.sale.sent', 'network.sale.approved', 'sale.captured']);
    expect(timeline[2]).toMatchObject({
      kind: 'sale',
      title: 'sale.captured',
      amount: 10_000,
      currency: 'CNY',
      paymentId: saleId,
      method: 'card',
    });
  });

  it('shows the sale’s messages: the 0200 sent and its 0210 approved, in words', () => {
    const sale = timeline.filter((e) => e.kind === 'network' && e.network?.messageType === 'sale');
    expect(sale.map((e) => e.title)).toEqual(['network.sale.sent', 'network.sale.approved']);
    expect(sale[0]?.network).toMatchObject({ direction: 'out', mti: '0200', terminalId: DEMO.terminalId });
    expect(sale[0]?.network?.stan).toMatch(/^\d{6}$/);
    expect(sale[1]).toMatchObject({ amount: 10_000, paymentId: saleId, status: 'answered' });
    expect(sale[1]?.network).toMatchObject({
      direction: 'in',
      mti: '0210',
      responseCode: '00',
      responseText: { en: 'Approved by the network.', 'zh-CN': '交易成功：网络方已批准。' },
    });
    expect(sale[1]?.network?.reference).toMatch(/^[0-9A-Za-z]{12}$/);
  });

  it('shows the declined refund: created, sent, answered 91 in words, failed', () => {
    expect(titles(of(declinedId))).toEqual([
      'refund.created',
      'network.refund.sent',
      'network.refund.declined',
      'refund.failed',
    ]);
    const created = timeline.find((e) => e.refundId === declinedId && e.kind === 'refund');
    expect(created).toMatchObject({
      actor: 'op:01',
      amount: 2_000,
      status: 'approved',
      method: 'original',
      reason: { code: 'quality_issue', note: null },
    });
    const declined = timeline.find((e) => e.title === 'network.refund.declined');
    const words = outcomeFor('91').message;
    expect(declined?.network).toMatchObject({
      mti: '0230',
      responseCode: '91',
      responseText: { 'zh-CN': words['zh-CN'], en: words.en },
    });
    const failed = timeline.find((e) => e.refundId === declinedId && e.title === 'refund.failed');
    expect(failed).toMatchObject({ kind: 'refund_status', fromStatus: 'approved', actor: 'network' });
    expect(failed?.network).toMatchObject({ messageType: 'refund', responseCode: '91' });
  });

  it('shows the lost answer reversed before the refund went again and succeeded', () => {
    expect(titles(of(reversedId))).toEqual(
      expect.arrayContaining(['network.refund.sent', 'reversal.acknowledged', 'network.refund.approved']),
    );
    const reversal = indexOf((e) => e.refundId === reversedId && e.kind === 'reversal');
    expect(timeline[reversal]?.network).toMatchObject({
      mti: '0410',
      direction: 'in',
      messageType: 'refund',
    });
    expect(timeline[reversal]?.network?.responseText?.en).toBeTruthy();
    const firstSent = indexOf((e) => e.refundId === reversedId && e.title === 'network.refund.sent');
    const approved = indexOf((e) => e.refundId === reversedId && e.title === 'network.refund.approved');
    const succeeded = indexOf((e) => e.refundId === reversedId && e.title === 'refund.succeeded');
    expect(firstSent).toBeLessThan(reversal);
    expect(reversal).toBeLessThan(approved);
    expect(approved).toBeLessThan(succeeded);
    expect(timeline[succeeded]?.network?.responseCode).toBe('00');
  });

  it('shows the adjustment with the refund it made', () => {
    const adj = indexOf((e) => e.kind === 'adjustment');
    expect(timeline[adj]).toMatchObject({
      title: 'order.adjusted',
      actor: 'op:01',
      adjustmentId: adjustment.id,
      refundId: adjustment.refundId,
      reason: { code: 'other', note: 'price corrected' },
      adjustment: { revision: 1, originalAmount: 7_000, newAmount: 6_500, difference: -500 },
    });
    expect(titles(of(adjustment.refundId))).toEqual(
      expect.arrayContaining(['refund.created', 'network.refund.approved', 'refund.succeeded']),
    );
    expect(adj).toBeGreaterThan(indexOf((e) => e.title === 'refund.succeeded' && e.refundId === reversedId));
  });

  it('shows the voucher printed, reprinted and sent, destinations masked', () => {
    expect(titles((e) => e.kind === 'receipt')).toEqual(['receipt.printed', 'receipt.reprinted']);
    const sends = timeline.filter((e) => e.kind === 'notification');
    expect(sends.map((e) => e.title)).toEqual(['notification.sent', 'notification.sent']);
    expect(sends.map((e) => e.notification?.channel).sort()).toEqual(['email', 'sms']);
    for (const s of sends) {
      expect(s).toMatchObject({ refundId: reversedId, status: 'sent' });
      expect(s.notification?.destination).toMatch(/\*/);
    }
    const body = JSON.stringify(answer);
    expect(body).not.toContain('buyer.wang@example.com');
    expect(body).not.toContain('13800138000');
  });

  it('answers over HTTP exactly what the service builds: the schema drops nothing', async () => {
    const caller: Caller = {
      merchantId: DEMO.merchantId,
      principal: 'supervisor',
      actor: 'op:00',
      operatorId: null,
      operatorNo: '00',
      terminalId: DEMO.terminalId,
    };
    const built = JSON.parse(JSON.stringify(await getOrder(sys.ctx, caller, order)));
    expect(answer).toEqual(built);
  });

  it('is the merchant’s own: an unknown order is not found', async () => {
    const r = await boss.call('GET', '/v1/orders/NO-SUCH-ORDER');
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('not_found');
  });
});
