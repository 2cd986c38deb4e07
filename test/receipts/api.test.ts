import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { decodeEscPos } from './escpos-decode.js';

const PAN = testPan('622202100009876');
const PHONE = '13812345678';

describe.each(storeTargets)('GET /v1/refunds/:id/receipt on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let refund: { id: string; paymentId: string };

  const receipt = (id: string, query: string, token: string | null = cashier.token) =>
    fetch(`${sys.base}/v1/refunds/${id}/receipt?${query}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl());
    cashier = await signIn(sys.base, '01', '1111');
    const p = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('RCPT'),
      amount: 12_345,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.body.id,
      amount: 2_345,
      reason: { code: 'other', note: '<script>alert(1)</script> 顾客改变主意' },
      approvals: [supervisor],
      consumer: { name: '张三丰', phone: PHONE },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    refund = r.body;
    await until(
      async () => (await cashier.call('GET', `/v1/refunds/${refund.id}`)).body.status,
      (s) => s === 'succeeded',
    );
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('prints the original first as text, then marks every later print as a reprint', async () => {
    const first = await receipt(refund.id, 'format=text');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(first.headers.get('x-receipt-reprint')).toBe('false');
    const text = await first.text();
    expect(text).not.toContain('REPRINT');
    expect(text).toContain('退款凭证 REFUND VOUCHER');
    expect(text).toContain(DEMO.merchantId);
    expect(text).toContain(DEMO.terminalId);
    expect(text).toMatch(/操作员\(OPERATOR NO\.\):\s+01\n/);
    expect(text).toContain('¥23.45');
    expect(text).toContain('已退款/REFUNDED');
    expect(text).toContain(refund.id);

    const html = await receipt(refund.id, 'format=html&width=80');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html.headers.get('x-receipt-print-no')).toBe('2');
    const page = await html.text();
    expect(page).toContain('重打印 / REPRINT');
    expect(page).toContain('@page { size: 80mm auto; margin: 0; }');
    expect(page).toContain('¥23.45');
    expect(page).toContain('<svg');
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;');

    const esc = await receipt(refund.id, 'format=escpos');
    expect(esc.status).toBe(200);
    expect(esc.headers.get('content-type')).toBe('application/octet-stream');
    const decoded = decodeEscPos(new Uint8Array(await esc.arrayBuffer()));
    const printed = decoded.lines.join('\n');
    expect(printed).toContain('重打印 / REPRINT');
    expect(printed).toContain('实际应退金额');
    expect(printed).toContain('￥23.45');
    // The printed QR is the refund's status link (issue 12): the consumer follows the money with it.
    const link = await cashier.call('GET', `/v1/refunds/${refund.id}/tracking`);
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    expect(decoded.qrPayloads).toEqual([link.body.url]);
    expect(decoded.qrPayloads[0]).toMatch(/\/t\/[A-Za-z0-9_-]{32}$/);
    expect(decoded.commands[decoded.commands.length - 1]?.name).toBe('GS V');
  });

  it('shows the card only as BIN and last four, and the consumer only masked', async () => {
    for (const format of ['text', 'html'] as const) {
      const body = await (await receipt(refund.id, `format=${format}`)).text();
      expect(body).toContain(`${PAN.slice(0, 6)}******${PAN.slice(-4)}`);
      expect(body).not.toContain(PAN);
      expect(body).not.toContain(PAN.slice(6, -4));
      expect(body).toContain('138****5678');
      expect(body).not.toContain(PHONE);
      expect(body).not.toContain('张三丰');
    }
  });

  it('records each print with its number, and audits it in the chain', async () => {
    const prints = await sys.ctx.store.db
      .selectFrom('receipt_prints')
      .selectAll()
      .where('refund_id', '=', refund.id)
      .orderBy('print_no')
      .execute();
    expect(prints.map((p) => [p.print_no, p.format, p.width_mm, p.actor])).toEqual([
      [1, 'text', 58, 'op:01'],
      [2, 'html', 80, 'op:01'],
      [3, 'escpos', 58, 'op:01'],
      [4, 'text', 58, 'op:01'],
      [5, 'html', 58, 'op:01'],
    ]);
    const audit = await sys.ctx.store.db
      .selectFrom('audit_log')
      .select(['action', 'data_json'])
      .where('entity_id', '=', refund.id)
      .where('action', 'like', 'receipt.%')
      .orderBy('seq')
      .execute();
    expect(audit.map((a) => a.action)).toEqual([
      'receipt.printed',
      'receipt.reprinted',
      'receipt.reprinted',
      'receipt.reprinted',
      'receipt.reprinted',
    ]);
    expect(JSON.parse(audit[1]?.data_json ?? '{}')).toMatchObject({
      printNo: 2,
      format: 'html',
      widthMm: 80,
    });
    const admin = await signIn(sys.base, '99', '12345678');
    expect((await admin.call('GET', '/v1/audit/verify')).body.ok).toBe(true);
  });

  it('counts concurrent prints once each: exactly one original', async () => {
    const p = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('RCPT'),
      amount: 800,
      currency: 'CNY',
      method: 'qr',
    });
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.body.id,
      reason: { code: 'duplicate_payment' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => receipt(r.body.id, 'format=text').then((x) => x.headers)),
    );
    expect(answers.map((h) => h.get('x-receipt-reprint')).sort()).toEqual(['false', 'true', 'true', 'true']);
    expect(answers.map((h) => h.get('x-receipt-print-no')).sort()).toEqual(['1', '2', '3', '4']);
  });

  it('answers an unknown refund with a 404 problem+json and records nothing', async () => {
    const before = await sys.ctx.store.db.selectFrom('receipt_prints').select('id').execute();
    const res = await receipt('re_DOESNOTEXIST', 'format=text');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, code: 'not_found', type: expect.any(String) });
    const after = await sys.ctx.store.db.selectFrom('receipt_prints').select('id').execute();
    expect(after.length).toBe(before.length);
  });

  it('refuses an unknown format or width, a missing token, and HEAD (which would count as a print)', async () => {
    const bad = await receipt(refund.id, 'format=pdf');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'validation_failed' });
    expect((await receipt(refund.id, 'width=76')).status).toBe(400);
    const anon = await receipt(refund.id, 'format=text', null);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ code: 'unauthenticated' });
    const head = await fetch(`${sys.base}/v1/refunds/${refund.id}/receipt`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${cashier.token}` },
    });
    expect(head.status).toBe(404);
  });
});
