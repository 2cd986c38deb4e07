/**
 * QR-code scan return (扫码退货, issue 12) through the public contract, on both stores: the merchant
 * shows a QR (`POST /v1/returns`), the consumer opens its link and submits once, the merchant
 * inspects the goods and approves, the refund goes through the network, and the consumer's status
 * link follows it. Tokens: expired, reused, tampered, withdrawn — each refused with its own code
 * and changing nothing. Lines: never more than bought minus refunded minus other open returns,
 * also when two returns race for the last item. Judged by the store and the acquirer's books, not
 * only by the API's answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeQr } from '../support/qr.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

const ITEMS = [
  { sku: 'TEA-01', name: '龙井茶 250g', qty: 2, unitAmount: 12_800 },
  { sku: 'CUP-02', name: '青瓷茶杯', qty: 1, unitAmount: 6_600 },
];

const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';

describe.each(storeTargets)('QR-code scan returns on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let boss: Client;
  let offsetMs = 0;

  beforeAll(async () => {
    sys = await startTestSystem(
      await target.freshUrl(),
      {},
      { clock: () => new Date(Date.now() + offsetMs) },
    );
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, '00', '123456');
  });
  afterAll(async () => {
    await sys?.close();
  });

  async function sale(items = ITEMS, method: 'card' | 'cash' = 'cash') {
    const amount = items.reduce((s, i) => s + i.qty * i.unitAmount, 0);
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('RET'),
      amount,
      currency: 'CNY',
      method,
      items,
      ...(method === 'card' ? { card: { pan: testPan('622202123456789'), expiry: '3012' } } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  }

  const consumer = (method: string, path: string, body?: unknown, key = `c-${Math.random()}`) =>
    call(sys.base, method, path, body, method === 'POST' ? { 'idempotency-key': key } : {});

  const submit = (token: string, body: object = {}, key?: string) =>
    consumer(
      'POST',
      `/v1/consumer/returns/${token}/submit`,
      { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' }, lang: 'zh-CN', ...body },
      key,
    );

  /** Everything a refused request could have changed. */
  async function footprint() {
    const db = sys.ctx.store.db;
    const count = async (table: 'refunds' | 'returns' | 'outbox' | 'audit_log') =>
      Number((await db.selectFrom(table).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const returns = await db.selectFrom('returns').select(['id', 'status']).orderBy('id').execute();
    return {
      refunds: await count('refunds'),
      returns: await count('returns'),
      outbox: await count('outbox'),
      audit: await count('audit_log'),
      statuses: returns.map((r) => r.status),
    };
  }

  it('shows a QR whose PNG decodes to exactly its url, with the lines priced as sold', async () => {
    const p = await sale();
    const r = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.id).toMatch(/^rt_/);
    expect(r.body.url).toMatch(
      new RegExp(
        `^${sys.base}/r/[0-9A-Z]{26}\\.898100000000001\\.[0-9a-z]+\\.[a-z0-9]+\\.[A-Za-z0-9_-]{22}$`,
      ),
    );
    expect(decodeQr(r.body.qrPng)).toBe(r.body.url);
    expect(r.body).toMatchObject({
      status: 'open',
      amount: 12_800,
      currency: 'CNY',
      items: [{ sku: 'TEA-01', name: '龙井茶 250g', qty: 1, unitAmount: 12_800, amount: 12_800 }],
    });
    const minutes = (Date.parse(r.body.expiresAt) - Date.now() - offsetMs) / 60_000;
    expect(minutes).toBeGreaterThan(29);
    expect(minutes).toBeLessThanOrEqual(30);
    // The token names ids and a time, nothing personal.
    const [ulidPart, merchant, exp] = tokenOf(r.body.url).split('.');
    expect(`rt_${ulidPart}`).toBe(r.body.id);
    expect(merchant).toBe('898100000000001');
    expect(Number.parseInt(exp ?? '', 36) * 1000).toBe(
      Math.floor(Date.parse(r.body.expiresAt) / 1000) * 1000,
    );
    const page = await consumer('GET', `/v1/consumer/returns/${tokenOf(r.body.url)}`);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({
      merchant: { name: expect.any(String) },
      amount: 12_800,
      items: [{ sku: 'TEA-01', qty: 1 }],
      policyText: expect.stringContaining('退'),
    });
  });

  it('runs the whole return: submit once, inspect, approve, refunded at the network, tracked by the consumer', async () => {
    const p = await sale(ITEMS, 'card');
    const created = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [
        { sku: 'TEA-01', qty: 2 },
        { sku: 'CUP-02', qty: 1 },
      ],
    });
    expect(created.status).toBe(201);
    const token = tokenOf(created.body.url);
    const sent = await submit(token, { contact: { phone: '13800138000', email: 'buyer@example.com' } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const { refundId, trackingUrl } = sent.body;
    expect(trackingUrl).toMatch(new RegExp(`^${sys.base}/t/[A-Za-z0-9_-]{32}$`));
    const refund = (await boss.call('GET', `/v1/refunds/${refundId}`)).body;
    expect(refund).toMatchObject({ status: 'requested', amount: 32_200, returnId: created.body.id });
    expect(refund.consumer.phone).not.toContain('13800138000');
    const ret = (await boss.call('GET', `/v1/returns/${created.body.id}`)).body;
    expect(ret).toMatchObject({ status: 'submitted', refundId });

    // The review queue has it; approving before the goods are inspected is refused.
    const queue = await boss.call('GET', '/v1/refunds?status=requested,under_review&order=oldest&limit=100');
    expect(queue.body.data.map((r: { id: string }) => r.id)).toContain(refundId);
    const early = await boss.call('POST', `/v1/refunds/${refundId}/approve`, { approvals: [supervisor] });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('return_inspection_required');

    const track = `/v1/track/${tokenOf(trackingUrl)}`;
    expect((await consumer('GET', track)).body.stage).toBe('submitted');
    const inspected = await boss.call('POST', `/v1/returns/${created.body.id}/inspection`, {
      result: 'accepted',
      note: '包装完好',
    });
    expect(inspected.status, JSON.stringify(inspected.body)).toBe(200);
    expect(inspected.body.inspection).toMatchObject({ result: 'accepted', note: '包装完好', by: 'op:00' });
    expect((await consumer('GET', track)).body.stage).toBe('reviewing');
    const approved = await boss.call('POST', `/v1/refunds/${refundId}/approve`, {
      approvals: [supervisor],
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'intact' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const done = await until(
      () => consumer('GET', track),
      (r) => r.body.stage === 'refunded',
    );
    expect(done.body).toMatchObject({
      refundId,
      stage: 'refunded',
      amount: 32_200,
      networkReference: expect.any(String),
      expectedArrival: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(done.body.history.map((h: { stage: string }) => h.stage)).toEqual([
      'submitted',
      'reviewing',
      'processing',
      'refunded',
    ]);
    // Nothing personal on the status page.
    expect(JSON.stringify(done.body)).not.toMatch(/13800138000|buyer@example\.com|\*\*\*/);
    // The acquirer's books hold the refund once.
    const acq = await sys.ctx.store.db
      .selectFrom('acq_transactions')
      .select(['amount_minor', 'kind'])
      .where('reference', '=', done.body.networkReference)
      .execute();
    expect(acq).toHaveLength(1);
    expect(Number(acq[0]?.amount_minor)).toBe(32_200);
    // Polling with the version: unchanged → 304.
    const etag = (await fetch(`${sys.base}${track}`)).headers.get('etag') ?? '';
    expect((await fetch(`${sys.base}${track}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    // The voucher downloads, its QR the same status link.
    const voucher = await fetch(`${sys.base}${track}/voucher?format=text`);
    expect(voucher.status).toBe(200);
    expect(await voucher.text()).toContain(refundId);
    // The consumer heard of each step (queued per channel).
    const messages = await sys.ctx.store.db
      .selectFrom('outbox')
      .select(['payload_json'])
      .where('kind', '=', 'consumer.message')
      .where('ref_id', '=', refundId)
      .execute();
    const steps = messages.map((m) => JSON.parse(m.payload_json) as { step: string; channel: string });
    for (const step of ['requested', 'under_review', 'processing', 'succeeded'])
      expect(
        steps
          .filter((s) => s.step === step)
          .map((s) => s.channel)
          .sort(),
      ).toEqual(['email', 'sms']);
  });

  it('refuses a reused, a tampered and a withdrawn link, each changing nothing', async () => {
    const p = await sale();
    const a = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    const token = tokenOf(a.body.url);
    expect((await submit(token)).status).toBe(201);

    let before = await footprint();
    const again = await submit(token);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('return_link_used');
    expect((await consumer('GET', `/v1/consumer/returns/${token}`)).body.code).toBe('return_link_used');
    expect(await footprint()).toEqual(before);

    const b = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    const good = tokenOf(b.body.url);
    const [ulidPart = '', merchant = '', exp = '', kid = '', mac = ''] = good.split('.');
    const later = (Number.parseInt(exp, 36) + 86_400).toString(36);
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const otherReturn = (a.body.id as string).slice(3);
    before = await footprint();
    for (const bad of [
      `${ulidPart}.${merchant}.${later}.${kid}.${mac}`,
      `${ulidPart}.${merchant}.${exp}.${kid}.${flipped}`,
      `${otherReturn}.${merchant}.${exp}.${kid}.${mac}`,
      `${ulidPart}.898100000000002.${exp}.${kid}.${mac}`,
      `${ulidPart}.${merchant}.${exp}.zz9.${mac}`,
      'garbage',
    ]) {
      const view = await consumer('GET', `/v1/consumer/returns/${bad}`);
      expect(view.status, bad).toBe(404);
      expect(view.body.code).toBe('return_link_invalid');
      const post = await submit(bad);
      expect(post.status).toBe(404);
      expect(post.body.code).toBe('return_link_invalid');
    }
    expect(await footprint()).toEqual(before);

    const withdrawn = await cashier.call('POST', `/v1/returns/${b.body.id}/cancel`);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.status).toBe('canceled');
    before = await footprint();
    const late = await submit(good);
    expect(late.status).toBe(410);
    expect(late.body.code).toBe('return_canceled');
    expect(await footprint()).toEqual(before);
  });

  it('an expired link is refused and its lines are free again', async () => {
    const p = await sale([{ sku: 'ONE', name: '唯一一件', qty: 1, unitAmount: 9_900 }]);
    const a = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    expect(a.status).toBe(201);
    // While it is open, a counter refund of the same item is refused…
    const counter = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      items: [{ sku: 'ONE', qty: 1 }],
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(counter.status).toBe(409);
    expect(counter.body.code).toBe('refund_exceeds_refundable');
    offsetMs += 31 * 60_000;
    try {
      const before = await footprint();
      const view = await consumer('GET', `/v1/consumer/returns/${tokenOf(a.body.url)}`);
      expect(view.status).toBe(410);
      expect(view.body.code).toBe('return_link_expired');
      const late = await submit(tokenOf(a.body.url));
      expect(late.status).toBe(410);
      expect(late.body.code).toBe('return_link_expired');
      expect(await footprint()).toEqual(before);
      expect((await cashier.call('GET', `/v1/returns/${a.body.id}`)).body.status).toBe('expired');
      // …and once it expired, the item can be returned again.
      const again = await cashier.call('POST', '/v1/returns', {
        orderNo: p.orderNo,
        items: [{ sku: 'ONE', qty: 1 }],
      });
      expect(again.status, JSON.stringify(again.body)).toBe(201);
    } finally {
      offsetMs -= 31 * 60_000;
    }
  });

  it("a refund rule refusing the submission tells the consumer only that the shop can't take it now", async () => {
    const admin = await signIn(sys.base, '99', '12345678');
    const p = await sale([{ sku: 'ONE', name: '唯一一件', qty: 1, unitAmount: 9_900 }]);
    const a = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    // The merchant lowers its per-refund cap below the return while the QR is open.
    const lowered = await admin.call('PUT', '/v1/policy', { maxRefundAmount: 5_000 });
    expect(lowered.status, JSON.stringify(lowered.body)).toBe(200);
    try {
      const before = await footprint();
      const refused = await submit(tokenOf(a.body.url));
      expect(refused.status).toBe(409);
      // No figure of the merchant's (its cap, its funds, its day's refunds) reaches the consumer.
      expect(Object.keys(refused.body).sort()).toEqual([
        'code',
        'detail',
        'instance',
        'requestId',
        'status',
        'title',
        'type',
      ]);
      expect(refused.body.code).toBe('return_refused');
      expect(JSON.stringify(refused.body)).not.toMatch(/5000|maxRefund|limit/i);
      expect(await footprint()).toEqual(before);
      expect((await cashier.call('GET', `/v1/returns/${a.body.id}`)).body.status).toBe('open');
      // What the consumer typed is still theirs to correct: 其它 without a note.
      const noNote = await submit(tokenOf(a.body.url), { reason: { code: 'other' } });
      expect(noNote.body.code).toBe('reason_required');
    } finally {
      await admin.call('PUT', '/v1/policy', { maxRefundAmount: 5_000_000 });
    }
    const after = await submit(tokenOf(a.body.url));
    expect(after.status, JSON.stringify(after.body)).toBe(201);
  });

  it("a consumer's Idempotency-Key lives apart from the merchant's and from other links'", async () => {
    const p = await sale([{ sku: 'ONE', name: '一件', qty: 3, unitAmount: 1_000 }]);
    const key = `shared-${Math.random()}`;
    // The merchant's own system uses a key…
    const mine = await cashier.call(
      'POST',
      '/v1/returns',
      { orderNo: p.orderNo, items: [{ sku: 'ONE', qty: 1 }] },
      { 'idempotency-key': key },
    );
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    const other = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    // …and two consumers with links of their own happen to send the same one: each is its own request.
    for (const link of [mine.body.url, other.body.url]) {
      const sent = await submit(tokenOf(link), {}, key);
      expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    }
    // The merchant's key still answers the merchant's request.
    const replay = await cashier.call(
      'POST',
      '/v1/returns',
      { orderNo: p.orderNo, items: [{ sku: 'ONE', qty: 1 }] },
      { 'idempotency-key': key },
    );
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(mine.body.id);
  });

  it('a sale with an open return QR is not voided until the QR is withdrawn', async () => {
    const p = await sale([{ sku: 'ONE', name: '一件', qty: 1, unitAmount: 2_000 }]);
    const a = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const refused = await cashier.call('POST', `/v1/payments/${p.id}/void`, { approvals: [supervisor] });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('void_not_allowed');
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body.status).toBe('captured');
    // The consumer's link still works meanwhile.
    expect((await consumer('GET', `/v1/consumer/returns/${tokenOf(a.body.url)}`)).status).toBe(200);
    expect((await cashier.call('POST', `/v1/returns/${a.body.id}/cancel`)).status).toBe(200);
    const voided = await cashier.call('POST', `/v1/payments/${p.id}/void`, { approvals: [supervisor] });
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect((await consumer('GET', `/v1/consumer/returns/${tokenOf(a.body.url)}`)).body.code).toBe(
      'return_canceled',
    );
  });

  it("a counter refund's rejection note stays the merchant's: its status link says rejected, without it", async () => {
    const p = await sale([{ sku: 'ONE', name: '一件', qty: 1, unitAmount: 2_000 }]);
    const asked = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 1_000,
      reason: { code: 'quality_issue' },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    const note = '顾客态度恶劣，疑似恶意退货';
    const rejected = await boss.call('POST', `/v1/refunds/${asked.body.id}/reject`, { note });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    const link = (await cashier.call('GET', `/v1/refunds/${asked.body.id}/tracking`)).body.url as string;
    const tracked = await consumer('GET', `/v1/track/${tokenOf(link)}`);
    expect(tracked.status).toBe(200);
    expect(tracked.body).toMatchObject({ stage: 'rejected', note: null });
    expect(JSON.stringify(tracked.body)).not.toContain('恶意');
  });

  it('the return page shows the handling fee and what reaches the consumer, as the refund then takes it', async () => {
    const admin = await signIn(sys.base, '99', '12345678');
    const fee = await admin.call('PUT', '/v1/policy', { feeRule: { originalFee: 'kept', handlingFee: 150 } });
    expect(fee.status, JSON.stringify(fee.body)).toBe(200);
    try {
      const p = await sale([{ sku: 'ONE', name: '一件', qty: 1, unitAmount: 2_000 }]);
      const a = await cashier.call('POST', '/v1/returns', {
        orderNo: p.orderNo,
        items: [{ sku: 'ONE', qty: 1 }],
      });
      expect(a.status, JSON.stringify(a.body)).toBe(201);
      const page = await consumer('GET', `/v1/consumer/returns/${tokenOf(a.body.url)}`);
      expect(page.body).toMatchObject({ amount: 2_000, fee: 150, netAmount: 1_850 });
      const sent = await submit(tokenOf(a.body.url));
      expect(sent.status, JSON.stringify(sent.body)).toBe(201);
      const refund = (await cashier.call('GET', `/v1/refunds/${sent.body.refundId}`)).body;
      expect(refund).toMatchObject({ amount: 2_000, fee: 150, netAmount: 1_850 });
    } finally {
      await admin.call('PUT', '/v1/policy', { feeRule: { originalFee: 'prorata', handlingFee: 0 } });
    }
  });

  it('the database itself holds one refund per return', async () => {
    const p = await sale([{ sku: 'ONE', name: '一件', qty: 2, unitAmount: 1_000 }]);
    const refundIds: string[] = [];
    const returnIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const a = await cashier.call('POST', '/v1/returns', {
        orderNo: p.orderNo,
        items: [{ sku: 'ONE', qty: 1 }],
      });
      const sent = await submit(tokenOf(a.body.url));
      expect(sent.status, JSON.stringify(sent.body)).toBe(201);
      refundIds.push(sent.body.refundId);
      returnIds.push(a.body.id);
    }
    // Whatever path would write it: a second refund naming the first return is refused.
    await expect(
      sys.ctx.store.db
        .updateTable('refunds')
        .set({ return_id: returnIds[0] })
        .where('id', '=', refundIds[1] as string)
        .execute(),
    ).rejects.toThrow(/unique|duplicate/i);
  });

  it("the payment shows what open QRs hold, and that it isn't refundable while they're open", async () => {
    const p = await sale([{ sku: 'ONE', name: '一件', qty: 3, unitAmount: 1_000 }]);
    const a = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'ONE', qty: 2 }],
    });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const held = (await cashier.call('GET', `/v1/payments/${p.id}`)).body;
    expect(held).toMatchObject({
      heldAmount: 2_000,
      inFlightAmount: 0,
      refundedAmount: 0,
      refundableAmount: 1_000,
    });
    expect(held.items).toEqual([expect.objectContaining({ sku: 'ONE', refundedQty: 0, heldQty: 2 })]);
    // The order and the payment list say the same.
    const order = (await cashier.call('GET', `/v1/orders/${p.orderNo}`)).body;
    expect(order.payments[0]).toMatchObject({ heldAmount: 2_000, refundableAmount: 1_000 });
    const listed = (await cashier.call('GET', `/v1/payments?orderNo=${p.orderNo}`)).body.data;
    expect(listed[0]).toMatchObject({ heldAmount: 2_000, refundableAmount: 1_000 });
    // Submitted: a refund in flight now, no longer a hold.
    const sent = await submit(tokenOf(a.body.url));
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const after = (await cashier.call('GET', `/v1/payments/${p.id}`)).body;
    expect(after).toMatchObject({ heldAmount: 0, inFlightAmount: 2_000, refundableAmount: 1_000 });
    expect(after.items[0]).toMatchObject({ refundedQty: 2, heldQty: 0 });
  });

  it('never returns more than bought minus refunded minus other open returns', async () => {
    const p = await sale();
    const before = await footprint();
    const tooMany = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'TEA-01', qty: 3 }],
    });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body).toMatchObject({
      code: 'refund_exceeds_refundable',
      sku: 'TEA-01',
      refundableQty: 2,
    });
    const unknown = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'NOPE', qty: 1 }],
    });
    expect(unknown.status).toBe(400);
    const noOrder = await cashier.call('POST', '/v1/returns', {
      orderNo: 'NO-SUCH-ORDER',
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    expect(noOrder.status).toBe(404);
    const noKey = await cashier.call(
      'POST',
      '/v1/returns',
      { orderNo: p.orderNo, items: [{ sku: 'TEA-01', qty: 1 }] },
      { 'idempotency-key': '' },
    );
    expect(noKey.body.code).toBe('idempotency_key_required');
    expect(await footprint()).toEqual(before);

    // One unit refunded at the counter, one on an open return: nothing of TEA-01 is left.
    const refunded = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      items: [{ sku: 'TEA-01', qty: 1 }],
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(refunded.status, JSON.stringify(refunded.body)).toBe(201);
    const open = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    expect(open.status).toBe(201);
    const third = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    expect(third.status).toBe(409);
    expect(third.body.refundableQty).toBe(0);
    // The cup is still free.
    const cup = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'CUP-02', qty: 1 }],
    });
    expect(cup.status).toBe(201);
  });

  it('two returns racing for the last item: exactly one QR, and one refund at most', async () => {
    for (let round = 0; round < 5; round++) {
      const p = await sale([{ sku: 'LAST', name: '最后一件', qty: 1, unitAmount: 5_000 }]);
      const body = { orderNo: p.orderNo, items: [{ sku: 'LAST', qty: 1 }] };
      const answers = await Promise.all([
        cashier.call('POST', '/v1/returns', body),
        boss.call('POST', '/v1/returns', body),
        cashier.call('POST', '/v1/refunds', {
          paymentId: p.id,
          items: [{ sku: 'LAST', qty: 1 }],
          reason: { code: 'quality_issue' },
          approvals: [supervisor],
        }),
      ]);
      const ok = answers.filter((a) => a.status === 201);
      expect(ok, JSON.stringify(answers.map((a) => [a.status, a.body.code]))).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 201))
        expect(a.body.code).toBe('refund_exceeds_refundable');
      // If a QR won, its submission is the one refund of the item.
      const qr = ok[0]?.body.url as string | undefined;
      if (qr) {
        const [x, y] = await Promise.all([submit(tokenOf(qr)), submit(tokenOf(qr))]);
        expect([x.status, y.status].sort()).toEqual([201, 409]);
      }
      const refunds = await sys.ctx.store.db
        .selectFrom('refunds')
        .select(['id'])
        .where('payment_id', '=', p.id)
        .where('status', 'not in', ['rejected', 'canceled', 'failed'])
        .execute();
      expect(refunds.length).toBeLessThanOrEqual(1);
    }
  });

  it('a rejected inspection rejects the refund with the note the consumer sees, and frees the lines', async () => {
    const p = await sale();
    const a = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'CUP-02', qty: 1 }],
    });
    const sent = await submit(tokenOf(a.body.url), { reason: { code: 'other', note: '不喜欢' }, lang: 'en' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const noNote = await boss.call('POST', `/v1/returns/${a.body.id}/inspection`, { result: 'rejected' });
    expect(noNote.body.code).toBe('reason_required');
    const cashierTry = await cashier.call('POST', `/v1/returns/${a.body.id}/inspection`, {
      result: 'accepted',
    });
    expect(cashierTry.status).toBe(403);
    const rejected = await boss.call('POST', `/v1/returns/${a.body.id}/inspection`, {
      result: 'rejected',
      note: '商品已使用',
    });
    expect(rejected.status).toBe(200);
    const view = await consumer('GET', `/v1/track/${tokenOf(sent.body.trackingUrl)}`);
    expect(view.body).toMatchObject({ stage: 'rejected', note: '商品已使用', expectedArrival: null });
    const again = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'CUP-02', qty: 1 }],
    });
    expect(again.status).toBe(201);
  });

  it('every refund has a status link: a counter refund too; a made-up link finds nothing', async () => {
    const p = await sale();
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 1_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    const link = await cashier.call('GET', `/v1/refunds/${r.body.id}/tracking`);
    expect(link.status).toBe(200);
    expect(decodeQr(link.body.qrPng)).toBe(link.body.url);
    const view = await consumer('GET', `/v1/track/${tokenOf(link.body.url)}`);
    expect(view.status).toBe(200);
    expect(view.body.refundId).toBe(r.body.id);
    const token = tokenOf(link.body.url);
    // One character changed (to one it is not: a token ending in x gets a y).
    const changed = `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`;
    for (const bad of ['A'.repeat(32), 'short', changed]) {
      const miss = await consumer('GET', `/v1/track/${bad}`);
      expect(miss.status, bad).toBe(404);
      expect(miss.body.code).toBe('tracking_link_invalid');
    }
    // The printed voucher's QR is the same link.
    const esc = await fetch(`${sys.base}/v1/refunds/${r.body.id}/receipt?format=text`, {
      headers: { authorization: `Bearer ${cashier.token}` },
    });
    expect(esc.status).toBe(200);
  });
});
