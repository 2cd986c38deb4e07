/**
 * Order search (issue 11, 订单管理): `GET /v1/payments` by the consumer's phone — looked up by a
 * keyed hash of the normalised number beside the sealed value (never by unsealing rows), on a
 * refund's consumer or a voucher sent by SMS — and by amount range, with the other filters and
 * keyset pagination as they were. On both stores.
 */
import { createHmac } from 'node:crypto';
import { CompiledQuery, type KyselyPlugin, type QueryId, type RootOperationNode, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKeyRing, normalisePhone, phoneSearchCandidates, phoneSearchHash } from '../../src/security.js';
import { authenticate } from '../../src/service/auth.js';
import { resealAll } from '../../src/service/keys.js';
import { listPayments } from '../../src/service/payments.js';
import { storeTargets } from '../support/stores.js';
import { type Client, DEMO, orderNo, signIn, startTestSystem, type TestSystem } from '../support/system.js';

const PHONE = '13800138000';
const OTHER_PHONE = '13900139000';
const HASH_SHAPE = /^ph_k1_[A-Za-z0-9_-]{43}$/;

describe('phone normalisation and search keys', () => {
  it('reduces every way of writing a mainland mobile to its 11 digits, and keeps other numbers whole', () => {
    for (const p of [
      '+86 138 0013 8000',
      '8613800138000',
      '008613800138000',
      '138-0013-8000',
      '(138) 0013 8000',
    ])
      expect(normalisePhone(p), p).toBe(PHONE);
    expect(normalisePhone('+852 9123 4567')).toBe('85291234567');
    // 86 followed by something that is not a mobile number stays as typed.
    expect(normalisePhone('8610123')).toBe('8610123');
  });

  it('hashes under a key derived from the data key, one candidate per live data key', () => {
    const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
    const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };
    const old = { data: makeKeyRing([k1], 'data'), token: makeKeyRing([k1], 'token') };
    const rotated = { data: makeKeyRing([k1, k2], 'data'), token: makeKeyRing([k1], 'token') };
    const before = phoneSearchHash(old, PHONE);
    expect(before).toMatch(HASH_SHAPE);
    expect(phoneSearchHash(old, '+86 138 0013 8000')).toBe(before);
    expect(phoneSearchHash(old, OTHER_PHONE)).not.toBe(before);
    // The search key is not the data key: an HMAC under the data key itself gives another value.
    const underDataKey = createHmac('sha256', k1.key).update(PHONE).digest('base64url').slice(0, 43);
    expect(before).not.toContain(underDataKey);
    // After a rotation new rows are under k2, and a search still finds rows under k1.
    expect(phoneSearchHash(rotated, PHONE)).toMatch(/^ph_k2_/);
    expect(phoneSearchCandidates(rotated, PHONE)).toEqual([before, phoneSearchHash(rotated, PHONE)]);
  });
});

describe.each(storeTargets)('order search on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let from: string;
  /** The sales of this suite, by name. */
  const sales: Record<string, { id: string; orderNo: string; amount: number }> = {};

  async function sale(name: string, amount: number) {
    const no = orderNo(`S${name}`);
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: no,
      amount,
      currency: 'CNY',
      method: 'cash',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    sales[name] = { id: r.body.id, orderNo: no, amount };
    return r.body.id as string;
  }
  async function refund(paymentId: string, consumer?: Record<string, string>) {
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId,
      amount: 100,
      reason: { code: 'quality_issue' },
      ...(consumer ? { consumer } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  }
  const search = async (query: string) => {
    const r = await cashier.call('GET', `/v1/payments?from=${encodeURIComponent(from)}&${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { data: { id: string; amount: number }[]; hasMore: boolean; nextCursor: string | null };
  };
  const names = (page: { data: { id: string }[] }) =>
    page.data.map((p) => Object.keys(sales).find((n) => sales[n]?.id === p.id) ?? p.id);
  const phone = (p: string) => `phone=${encodeURIComponent(p)}`;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { worker: false });
    cashier = await signIn(sys.base, '01', '1111');
    // After the demo's own sales (seeded at start): the searches see this suite's rows only.
    await new Promise((r) => setTimeout(r, 5));
    from = new Date().toISOString();
    // a: the consumer's phone on its refund, as typed at the counter.
    await refund(await sale('a', 12_345), { phone: PHONE, name: '李四' });
    // b: the same phone with the country code.
    await refund(await sale('b', 20_000), { phone: `+86${PHONE}` });
    // c: another phone on the refund, but the voucher went to PHONE by SMS (and to an e-mail).
    const c = await refund(await sale('c', 50_000), { phone: OTHER_PHONE });
    const send = await cashier.call('POST', `/v1/refunds/${c}/receipt/send`, {
      phone: PHONE,
      email: 'buyer@example.com',
    });
    expect(send.status, JSON.stringify(send.body)).toBe(202);
    // d: no phone anywhere; e: a phone on an e-mail-only refund of another number.
    await refund(await sale('d', 15_000));
    await refund(await sale('e', 30_000), { phone: '13700137000', email: 'e@example.com' });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('finds the orders whose refund or voucher SMS carries the phone, in any format, and no others', async () => {
    for (const p of [
      PHONE,
      `+86 ${PHONE.slice(0, 3)} ${PHONE.slice(3, 7)} ${PHONE.slice(7)}`,
      '138 0013 8000',
      '138-0013-8000',
      `0086${PHONE}`,
    ]) {
      expect(names(await search(phone(p))), p).toEqual(['c', 'b', 'a']);
    }
    expect(names(await search(phone(OTHER_PHONE)))).toEqual(['c']);
    expect(names(await search(phone('13700137000')))).toEqual(['e']);
    expect(names(await search(phone('13600136000')))).toEqual([]);
    // Exact numbers only: a part of one finds nothing.
    expect(names(await search(phone('0013 8000')))).toEqual([]);
  });

  it('keeps no phone in clear: refunds and sends hold sealed values, masks and hashes', async () => {
    const db = sys.ctx.store.db;
    const refunds = await db.selectFrom('refunds').selectAll().where('created_at', '>=', from).execute();
    const sends = await db.selectFrom('receipt_sends').selectAll().execute();
    const raw = JSON.stringify([refunds, sends]);
    for (const digits of [PHONE, OTHER_PHONE, '13700137000', '00138000', '0013 8000', '0013', '00139000'])
      expect(raw, digits).not.toContain(digits);
    const withPhone = refunds.filter((r) => r.consumer_masked_json?.includes('"phone"'));
    expect(withPhone).toHaveLength(4);
    for (const r of withPhone) {
      expect(r.consumer_enc).toMatch(/^v2\.k1\./);
      expect(r.consumer_phone_hash).toMatch(HASH_SHAPE);
    }
    expect(
      refunds.filter((r) => !r.consumer_masked_json?.includes('"phone"')).map((r) => r.consumer_phone_hash),
    ).toEqual([null]);
    const sms = sends.filter((s) => s.channel === 'sms');
    expect(sms).toHaveLength(1);
    expect(sms[0]?.destination_phone_hash).toBe(phoneSearchHash(sys.ctx.secrets, PHONE));
    expect(sends.filter((s) => s.channel === 'email').map((s) => s.destination_phone_hash)).toEqual([null]);
    // The same number gives the same hash wherever it was typed, whatever the format.
    const a = refunds.find((r) => r.payment_id === sales.a?.id);
    const b = refunds.find((r) => r.payment_id === sales.b?.id);
    expect(a?.consumer_phone_hash).toBe(b?.consumer_phone_hash);
  });

  it('searches by amount range, both ends included', async () => {
    expect(names(await search('amountMin=12345&amountMax=20000'))).toEqual(['d', 'b', 'a']);
    expect(names(await search('amountMin=20001'))).toEqual(['e', 'c']);
    expect(names(await search('amountMax=12344'))).toEqual([]);
    expect(names(await search('amountMin=15000&amountMax=15000'))).toEqual(['d']);
  });

  it('combines phone, amount, order number and time, and pages through the matches with the cursor', async () => {
    expect(names(await search(`${phone(PHONE)}&amountMax=20000`))).toEqual(['b', 'a']);
    expect(names(await search(`${phone(PHONE)}&amountMin=20000&amountMax=20000`))).toEqual(['b']);
    expect(names(await search(`${phone(PHONE)}&orderNo=${sales.c?.orderNo}`))).toEqual(['c']);
    expect(names(await search(`${phone(PHONE)}&orderNo=${sales.d?.orderNo}`))).toEqual([]);
    expect(names(await search(`${phone(PHONE)}&to=${encodeURIComponent(from)}`))).toEqual([]);
    const seen: string[] = [];
    let page = await search(`${phone(PHONE)}&limit=1`);
    for (;;) {
      seen.push(...names(page));
      if (!page.nextCursor) break;
      expect(page.hasMore).toBe(true);
      page = await search(`${phone(PHONE)}&limit=1&cursor=${page.nextCursor}`);
    }
    expect(seen).toEqual(['c', 'b', 'a']);
  });

  it('refuses a phone with too few digits, a malformed one, and an inverted amount range', async () => {
    for (const q of [
      phone('+86 ()'),
      phone('138a0013'),
      'amountMin=-1',
      'amountMin=1.5',
      'amountMin=300&amountMax=200',
    ]) {
      const r = await cashier.call('GET', `/v1/payments?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.code, q).toBe('validation_failed');
    }
  });

  it("reads a phone's payments by id through the phone indexes, not by walking the merchant's list", async () => {
    const store = sys.ctx.store;
    // Enough of the merchant's payments that walking them in list order is the plan to avoid.
    await store.tx(async (trx) => {
      const at = (i: number) => new Date(Date.parse('2025-06-01T00:00:00Z') + i * 60_000).toISOString();
      const rows = Array.from({ length: 2_000 }, (_, i) => ({
        id: `pay_PLAN${String(i).padStart(5, '0')}`,
        merchant_id: DEMO.merchantId,
        terminal_id: DEMO.terminalId,
        order_no: `PLAN-${i}`,
        kind: 'sale' as const,
        parent_payment_id: null,
        amount_minor: 1_000 + i,
        currency: 'CNY',
        method: 'cash' as const,
        fee_minor: 0,
        card_bin: null,
        card_last4: null,
        card_token: null,
        voided: 0,
        voided_at: null,
        settled: 1,
        settlement_id: null,
        refunded_minor: 0,
        in_flight_minor: 0,
        network_reference: null,
        captured_at: at(i),
        created_at: at(i),
        updated_at: at(i),
      }));
      for (let i = 0; i < rows.length; i += 500)
        await trx
          .insertInto('payments')
          .values(rows.slice(i, i + 500))
          .execute();
    });
    if (store.dialect === 'postgres') await sql`analyze payments, refunds, receipt_sends`.execute(store.db);
    const seen: { node: RootOperationNode; queryId: QueryId }[] = [];
    const capture: KyselyPlugin = {
      transformQuery: (args) => {
        seen.push(args);
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const ctx = { ...sys.ctx, store: { ...store, db: store.db.withPlugin(capture) } };
    const caller = await authenticate(sys.ctx, cashier.token);
    const page = await listPayments(ctx, caller, { phone: PHONE, limit: 20 });
    expect(page.data).toHaveLength(3);
    const list = seen
      .map((q) => store.db.getExecutor().compileQuery(q.node, q.queryId))
      .find((q) => /^select "payments"\.\*/.test(q.sql));
    if (!list) throw new Error('no list query');
    const plan =
      store.dialect === 'sqlite'
        ? (
            await store.db.executeQuery<{ detail: string }>(
              CompiledQuery.raw(`explain query plan ${list.sql}`, [...list.parameters]),
            )
          ).rows.map((r) => r.detail)
        : await store.tx(async (trx) => {
            // As test/store/list-plans.test.ts: what the indexes can do, whatever the table sizes.
            for (const setting of ['enable_seqscan', 'enable_bitmapscan'])
              await sql`select set_config(${setting}, 'off', true)`.execute(trx);
            const r = await trx.executeQuery<{ 'QUERY PLAN': string }>(
              CompiledQuery.raw(`explain ${list.sql}`, [...list.parameters]),
            );
            return r.rows.map((row) => row['QUERY PLAN']);
          });
    const text = plan.join('\n');
    expect(text, text).not.toContain('payments_merchant_created');
    expect(text, text).toMatch(/refunds_merchant_phone_hash/);
    expect(text, text).toMatch(/receipt_sends_merchant_phone_hash/);
    expect(text, text).toMatch(
      store.dialect === 'sqlite'
        ? /SEARCH payments USING INDEX sqlite_autoindex_payments_1 \(id=\?\)/
        : /Index Scan using payments_pkey on payments/,
    );
  });

  it('fills missing hashes (rows from before migration 0019) at `keys reseal`, without which they are not found', async () => {
    const db = sys.ctx.store.db;
    await db
      .updateTable('refunds')
      .set({ consumer_phone_hash: null })
      .where('payment_id', '=', sales.a?.id ?? '')
      .execute();
    await db.updateTable('receipt_sends').set({ destination_phone_hash: null }).execute();
    expect(names(await search(phone(PHONE)))).toEqual(['b']);
    const report = await resealAll({ store: sys.ctx.store, secrets: sys.ctx.secrets }, { batchRows: 2 });
    expect(report.phoneSearch).toEqual({ rehashed: 2, failed: [] });
    expect(names(await search(phone(PHONE)))).toEqual(['c', 'b', 'a']);
    // A second pass finds every hash under the current key: nothing to do.
    const again = await resealAll({ store: sys.ctx.store, secrets: sys.ctx.secrets });
    expect(again.phoneSearch.rehashed).toBe(0);
  });
});
