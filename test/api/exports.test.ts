/**
 * CSV exports (issue 11, "Exports"): payments, refunds, the audit log, closed batches, a
 * reconciliation run's mismatches and the operators as files Excel in China
 * opens with the Chinese intact — UTF-8 with a BOM, RFC 4180 (CRLF, quotes doubled), Chinese
 * headers, yuan amounts from integer fen, Shanghai times, consumer data masked — with the lists'
 * filters and their permissions; and streamed: 100,000 refunds come out in keyset pages with the
 * heap bounded, the first bytes written before the last page is read. On both stores.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/service/auth.js';
import {
  EXPORT_PAGE_ROWS,
  exportMismatches,
  exportRefunds,
  exportSettlements,
} from '../../src/service/exports.js';
import { appendAuditEntries } from '../../src/store/audit.js';
import type { RefundTable } from '../../src/store/schema.js';
import { PG_URL, storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  type TestSystem,
  testPan,
} from '../support/system.js';

// ---- an RFC 4180 reader, strict, fed chunk by chunk -------------------------------------------

/**
 * csv-parse is not a dependency; this reads exactly RFC 4180 as the exports write it: fields
 * separated by `,`, records ended by CRLF (a bare CR or LF outside quotes is an error), a field in
 * quotes may hold `,`, CR, LF and `""` (one quote). It keeps nothing but the row it is reading.
 */
class Rfc4180Reader {
  private field = '';
  private row: string[] = [];
  private state: 'start' | 'plain' | 'quoted' | 'quoteInQuoted' | 'cr' = 'start';
  records = 0;

  constructor(private readonly onRecord: (fields: string[], index: number) => void) {}

  push(text: string): void {
    for (let i = 0; i < text.length; i++) this.char(text[i] as string);
  }

  private endField() {
    this.row.push(this.field);
    this.field = '';
  }

  private char(c: string): void {
    switch (this.state) {
      case 'quoted':
        if (c === '"') this.state = 'quoteInQuoted';
        else this.field += c;
        return;
      case 'quoteInQuoted':
        if (c === '"') {
          this.field += '"';
          this.state = 'quoted';
          return;
        }
        this.state = 'plain';
        if (c !== ',' && c !== '\r') throw new Error(`text after a closing quote: ${JSON.stringify(c)}`);
        break;
      case 'cr':
        if (c !== '\n') throw new Error('CR without LF');
        this.endField();
        this.onRecord(this.row, this.records++);
        this.row = [];
        this.state = 'start';
        return;
      case 'start':
        if (c === '"') {
          this.state = 'quoted';
          return;
        }
        this.state = 'plain';
        break;
      case 'plain':
        break;
    }
    if (c === ',') {
      this.endField();
      this.state = 'start';
    } else if (c === '\r') this.state = 'cr';
    else if (c === '\n') throw new Error('LF without CR outside quotes');
    else if (c === '"') throw new Error('quote inside an unquoted field');
    else this.field += c;
  }

  /** The text ended: it must have ended with a record's CRLF. */
  end(): void {
    if (this.state !== 'start' || this.field !== '' || this.row.length > 0)
      throw new Error('the file does not end with CRLF');
  }
}

const BOM = [0xef, 0xbb, 0xbf];

/**
 * A full collection on demand, so the heap is measured as what is held, not as garbage V8 has not
 * collected yet (the runner does not start Node with --expose-gc; the flag set now applies to a new
 * context's global `gc`).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Streamed {
  status: number;
  headers: Headers;
  firstBytes: number[];
  records: number;
  header: string[];
  /** Records kept by `keep` (index counted from the first data record). */
  kept: Map<number, string[]>;
  /** Highest heapUsed sampled while streaming (every 2 ms and every chunk). */
  heapPeakBytes: number;
  /** Highest heapUsed right after a full collection, one every `gcEveryChunks` chunks: what is held. */
  livePeakBytes: number;
}

/** GET a CSV and read it as it streams, keeping only the records asked for; samples the heap. */
async function streamCsv(
  base: string,
  path: string,
  token: string,
  keep: (index: number) => boolean = () => true,
  gcEveryChunks = 0,
): Promise<Streamed> {
  let heapPeakBytes = process.memoryUsage().heapUsed;
  let livePeakBytes = 0;
  let chunks = 0;
  const sample = () => {
    heapPeakBytes = Math.max(heapPeakBytes, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, 2);
  try {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const out: Streamed = {
      status: res.status,
      headers: res.headers,
      firstBytes: [],
      records: 0,
      header: [],
      kept: new Map(),
      heapPeakBytes: 0,
      livePeakBytes: 0,
    };
    const reader = new Rfc4180Reader((fields, i) => {
      if (i === 0) out.header = [...fields];
      else if (keep(i - 1)) out.kept.set(i - 1, [...fields]);
    });
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let first = true;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      let bytes = chunk;
      if (first) {
        out.firstBytes = [...chunk.subarray(0, 3)];
        bytes = chunk.subarray(3);
        first = false;
      }
      reader.push(decoder.decode(bytes, { stream: true }));
      sample();
      if (gcEveryChunks > 0 && ++chunks % gcEveryChunks === 0) {
        gc();
        livePeakBytes = Math.max(livePeakBytes, process.memoryUsage().heapUsed);
      }
    }
    reader.push(decoder.decode());
    if (res.status === 200) reader.end();
    out.records = Math.max(0, reader.records - 1);
    out.heapPeakBytes = heapPeakBytes;
    out.livePeakBytes = livePeakBytes;
    return out;
  } finally {
    clearInterval(timer);
  }
}

/** The Shanghai wall-clock time of an instant, computed apart from the code under test. */
const shanghai = (iso: string) =>
  new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(new Date(iso));
const shanghaiToday = () => shanghai(new Date().toISOString()).slice(0, 10).replaceAll('-', '');

/** A CSV file answer: 200, UTF-8 CSV with a BOM, saved as `<name>-<the merchant's today>.csv`. */
function expectCsvFile(csv: Streamed, name: string): void {
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  expect(csv.headers.get('content-disposition')).toBe(
    `attachment; filename="${name}-${shanghaiToday()}.csv"`,
  );
  expect(csv.firstBytes).toEqual(BOM);
}

/**
 * The PostgreSQL suites share one database, a schema each (support/stores.ts): this suite's
 * hundred thousand rows go with its schema when it ends, not into every later suite's database.
 */
async function dropSchema(url: string | undefined): Promise<void> {
  const options = url?.startsWith('postgres') ? new URL(url).searchParams.get('options') : null;
  const schema = /search_path=(t_[0-9_]+)$/.exec(options ?? '')?.[1];
  if (!schema) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`drop schema ${schema} cascade`);
  } finally {
    await client.end();
  }
}

const REFUND_HEADERS = [
  '退款单号',
  '订单号',
  '原交易编号',
  '申请时间',
  '更新时间',
  '退款金额(元)',
  '手续费(元)',
  '实退金额(元)',
  '币种',
  '退款方式',
  '状态',
  '延迟',
  '预计到账日',
  '退款原因',
  '原因说明',
  '顾客姓名(脱敏)',
  '联系电话(脱敏)',
  '邮箱(脱敏)',
  '收款账号(脱敏)',
  '批准人',
  '操作员',
  '终端号',
  '参考号',
  '应答码',
];

/** A note with everything CSV must carry: Chinese, a quote, a comma, a line break. */
const TRICKY_NOTE = '顾客说："质量不好", 要退款\n第二行 line two';
const FORMULA_NOTE = '=HYPERLINK("http://evil.example","点我")';

describe.each(storeTargets)('CSV exports on $name', (target) => {
  let sys: TestSystem;
  let admin: Client;
  let boss: Client;
  let cashier: Client;
  let from: string;
  const made: Record<string, { paymentId: string; orderNo: string; refundId?: string; createdAt?: string }> =
    {};

  const byColumn = (header: string[], row: string[] | undefined) =>
    Object.fromEntries(header.map((h, i) => [h, row?.[i]]));

  let url: string;

  beforeAll(async () => {
    url = await target.freshUrl();
    sys = await startTestSystem(url, { worker: false });
    admin = await signIn(sys.base, '99', '12345678');
    boss = await signIn(sys.base, '00', '123456');
    cashier = await signIn(sys.base, '01', '1111');
    await new Promise((r) => setTimeout(r, 5));
    from = new Date().toISOString();
    const sale = async (name: string, no: string, amount: number, card = false) => {
      const r = await cashier.call('POST', '/v1/payments', {
        orderNo: no,
        amount,
        currency: 'CNY',
        method: card ? 'card' : 'cash',
        ...(card ? { card: { pan: testPan('622202100005678'), expiry: '2912' } } : {}),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      made[name] = { paymentId: r.body.id, orderNo: no };
    };
    const refund = async (name: string, amount: number, note: string, consumer?: object) => {
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: made[name]?.paymentId,
        amount,
        reason: { code: 'other', note },
        ...(consumer ? { consumer } : {}),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      Object.assign(made[name] ?? {}, { refundId: r.body.id, createdAt: r.body.createdAt });
    };
    await sale('tricky', orderNo('EXP'), 12_345);
    await refund('tricky', 2_345, TRICKY_NOTE, {
      name: '张三丰',
      phone: '13812345678',
      email: 'zs@example.com',
    });
    // An all-digit order number: Excel would show it as 2.02610E+11 without the text guard.
    await sale('digits', `2026${String(Date.now()).slice(-8)}`, 100);
    await refund('digits', 5, FORMULA_NOTE);
    await sale('card', orderNo('EXP'), 99_999, true);
  });
  afterAll(async () => {
    await sys?.close();
    await dropSchema(url);
  });

  it('answers refunds as UTF-8 CSV with a BOM, CRLF, Chinese headers, yuan amounts, Shanghai times and masked consumers', async () => {
    const csv = await streamCsv(
      sys.base,
      `/v1/exports/refunds.csv?from=${encodeURIComponent(from)}`,
      boss.token,
    );
    expectCsvFile(csv, 'refunds');
    expect(csv.headers.get('cache-control')).toBe('no-store');
    expect(csv.header).toEqual(REFUND_HEADERS);
    expect(csv.records).toBe(2);
    const digits = byColumn(csv.header, csv.kept.get(0));
    const tricky = byColumn(csv.header, csv.kept.get(1));
    expect(tricky).toMatchObject({
      退款单号: made.tricky?.refundId,
      订单号: made.tricky?.orderNo,
      '退款金额(元)': '23.45',
      '手续费(元)': '0.00',
      '实退金额(元)': '23.45',
      币种: 'CNY',
      退款方式: '原路退回',
      状态: '申请中',
      延迟: '否',
      退款原因: '其它',
      原因说明: TRICKY_NOTE,
      '顾客姓名(脱敏)': '张**',
      '联系电话(脱敏)': '138****5678',
      '邮箱(脱敏)': 'z***@example.com',
      '收款账号(脱敏)': '',
      操作员: 'op:01',
      终端号: DEMO.terminalId,
    });
    expect(tricky.申请时间).toBe(shanghai(made.tricky?.createdAt as string));
    expect(tricky.申请时间).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    // Text a spreadsheet would run is defused; an all-digit identifier stays text with its digits.
    expect(digits.原因说明).toBe(`'${FORMULA_NOTE}`);
    expect(digits.订单号).toBe(`="${made.digits?.orderNo}"`);
    expect(digits['退款金额(元)']).toBe('0.05');
  });

  it('writes RFC 4180 bytes: quotes doubled, the line break kept inside quotes, no clear personal data', async () => {
    const res = await fetch(`${sys.base}/v1/exports/refunds.csv?from=${encodeURIComponent(from)}`, {
      headers: { authorization: `Bearer ${boss.token}` },
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    expect(text.startsWith('\uFEFF退款单号,订单号,')).toBe(true);
    expect(text).toContain('"顾客说：""质量不好"", 要退款\n第二行 line two"');
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""点我"")"`);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')).toHaveLength(4); // header, two records, and the empty rest
    for (const secret of ['13812345678', '张三丰', 'zs@example.com']) expect(text).not.toContain(secret);
  });

  it('exports payments with the filters of the list, phone and amount range included', async () => {
    const all = await streamCsv(
      sys.base,
      `/v1/exports/payments.csv?from=${encodeURIComponent(from)}`,
      admin.token,
    );
    expect(all.status).toBe(200);
    expect(all.headers.get('content-disposition')).toBe(
      `attachment; filename="payments-${shanghaiToday()}.csv"`,
    );
    expect(all.header.slice(0, 7)).toEqual([
      '订单号',
      '交易编号',
      '交易类型',
      '交易时间',
      '支付方式',
      '卡号后四位',
      '金额(元)',
    ]);
    expect(all.records).toBe(3);
    const card = byColumn(all.header, all.kept.get(0));
    expect(card).toMatchObject({
      订单号: made.card?.orderNo,
      支付方式: '银行卡',
      卡号后四位: `="${testPan('622202100005678').slice(-4)}"`,
      '金额(元)': '999.99',
      状态: '已收款',
      已结算: '否',
    });
    const tricky = byColumn(all.header, all.kept.get(2));
    expect(tricky).toMatchObject({
      '金额(元)': '123.45',
      '退款处理中(元)': '23.45',
      '可退金额(元)': '100.00',
    });

    const byPhone = await streamCsv(
      sys.base,
      `/v1/exports/payments.csv?phone=${encodeURIComponent('+86 138 1234 5678')}`,
      admin.token,
    );
    expect(byPhone.records).toBe(1);
    expect(byColumn(byPhone.header, byPhone.kept.get(0)).订单号).toBe(made.tricky?.orderNo);
    const range = await streamCsv(
      sys.base,
      `/v1/exports/payments.csv?from=${encodeURIComponent(from)}&amountMin=100&amountMax=12345`,
      admin.token,
    );
    expect(range.records).toBe(2);
  });

  it('exports the audit log with its filters, to those who may read it', async () => {
    const q = `/v1/exports/audit.csv?from=${encodeURIComponent(from)}&action=refund.created`;
    const csv = await streamCsv(sys.base, q, boss.token);
    expect(csv.status).toBe(200);
    expect(csv.header).toEqual([
      '序号',
      '时间',
      '操作人',
      '操作',
      '对象类型',
      '对象编号',
      '详情(JSON)',
      '哈希',
    ]);
    expect(csv.records).toBe(2);
    const newest = byColumn(csv.header, csv.kept.get(0));
    expect(newest).toMatchObject({
      操作: 'refund.created',
      对象类型: 'refund',
      对象编号: made.digits?.refundId,
    });
    expect(JSON.parse(newest['详情(JSON)'] as string)).toMatchObject({ amount: 5, reason: 'other' });
    expect(newest.哈希).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(newest.序号)).toBeGreaterThan(Number(byColumn(csv.header, csv.kept.get(1)).序号));
  });

  it('refuses cashiers and the anonymous as problem+json, and a bad filter before any byte of CSV', async () => {
    for (const path of [
      '/v1/exports/payments.csv',
      '/v1/exports/refunds.csv',
      '/v1/exports/audit.csv',
      '/v1/exports/settlements.csv',
    ]) {
      const r = await cashier.call('GET', path);
      expect({ status: r.status, code: r.body.code }, path).toEqual({ status: 403, code: 'forbidden' });
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      const anon = await call(sys.base, 'GET', path);
      expect(anon.status).toBe(401);
    }
    for (const q of [
      'payments.csv?amountMin=5&amountMax=1',
      'payments.csv?phone=12',
      'refunds.csv?status=nope',
      'audit.csv?cursor=1',
      'settlements.csv?terminalId=T-1',
      'settlements.csv?limit=5',
    ]) {
      const r = await boss.call('GET', `/v1/exports/${q}`);
      expect({ status: r.status, code: r.body.code }, q).toEqual({ status: 400, code: 'validation_failed' });
    }
    const empty = await streamCsv(sys.base, '/v1/exports/refunds.csv?from=2100-01-01T00:00:00Z', boss.token);
    expect(empty.status).toBe(200);
    expect(empty.header).toEqual(REFUND_HEADERS);
    expect(empty.records).toBe(0);
  });

  it('lists the audit log with the filters of its export, a page at a time, newest first', async () => {
    const q = `from=${encodeURIComponent(from)}&action=refund.created`;
    const list = await boss.call('GET', `/v1/audit?${q}`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ hasMore: false, nextCursor: null });
    const csv = await streamCsv(sys.base, `/v1/exports/audit.csv?${q}`, boss.token);
    // One query builds both: the same entries, in the same order.
    expect(list.body.data.map((e: { seq: number }) => String(e.seq))).toEqual(
      [...csv.kept.values()].map((r) => r[0]),
    );
    expect(list.body.data.map((e: { entity_id: string }) => e.entity_id)).toEqual([
      made.digits?.refundId,
      made.tricky?.refundId,
    ]);
    const [newest] = list.body.data;
    expect(newest).toMatchObject({ action: 'refund.created', entity: 'refund', actor: 'op:01' });
    expect(newest.data).toMatchObject({ amount: 5, reason: 'other' });

    const first = await boss.call('GET', `/v1/audit?${q}&limit=1`);
    expect(first.body).toMatchObject({ hasMore: true, data: [{ entity_id: made.digits?.refundId }] });
    const second = await boss.call('GET', `/v1/audit?${q}&limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({
      hasMore: false,
      nextCursor: null,
      data: [{ entity_id: made.tricky?.refundId }],
    });
    const since = `from=${encodeURIComponent(from)}`;
    const entries = async (filter: string) =>
      (
        (await boss.call('GET', `/v1/audit?${filter}`)).body.data as { action: string; entity_id: string }[]
      ).map((e) => `${e.action} ${e.entity_id}`);
    expect(await entries(`entityId=${made.tricky?.refundId}`)).toEqual([
      `refund.created ${made.tricky?.refundId}`,
    ]);
    expect(await entries(`${since}&entity=refund&actor=op:01`)).toEqual([
      `refund.created ${made.digits?.refundId}`,
      `refund.created ${made.tricky?.refundId}`,
    ]);
    expect(await entries(`${since}&actor=op:02`)).toEqual([]);
    const before = await entries(`action=refund.created&to=${encodeURIComponent(from)}`);
    for (const r of [made.digits, made.tricky]) expect(before).not.toContain(`refund.created ${r?.refundId}`);
  });

  it('pages the audit log 50 entries at a time unless asked for up to 200', async () => {
    await sys.ctx.store.tx((trx) =>
      appendAuditEntries(
        trx,
        Array.from({ length: 260 }, (_, i) => ({
          merchantId: DEMO.merchantId,
          actor: 'op:99',
          action: 'exports.paging',
          entity: 'merchant',
          entityId: DEMO.merchantId,
          data: { i },
          at: new Date(),
        })),
      ),
    );
    const seen: number[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: { status: number; body: { data: { data: { i: number } }[]; nextCursor: string | null } } =
        await admin.call('GET', `/v1/audit?action=exports.paging${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      sizes.push(page.body.data.length);
      seen.push(...page.body.data.map((e) => e.data.i));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([50, 50, 50, 50, 50, 10]);
    expect(seen).toEqual(Array.from({ length: 260 }, (_, i) => 259 - i));
    const big = await admin.call('GET', '/v1/audit?action=exports.paging&limit=200');
    expect(big.body.data).toHaveLength(200);
    expect(big.body.hasMore).toBe(true);
    for (const q of ['limit=201', 'limit=0', 'cursor=abc', 'cursor=0', 'action=Bad', 'orderNo=1']) {
      const r = await admin.call('GET', `/v1/audit?${q}`);
      expect({ status: r.status, code: r.body.code }, q).toEqual({ status: 400, code: 'validation_failed' });
    }
    expect((await cashier.call('GET', '/v1/audit')).status).toBe(403);
  });

  it('exports closed batches with the filters of their list: totals in yuan, the reconciliation in Chinese', async () => {
    // Batches straight into the store (as recordSettlement writes them): closing the demo till here
    // would mark the sales above settled. Two tills, a week of 2025, one batch that did not balance.
    const tally = (count: number, amountMinor: number) => ({ count, amountMinor });
    const batch = (n: number, terminalId: string, at: string, ours: number, theirs: number) => {
      const local = { sales: tally(3, 1_234_567), voids: tally(1, 5), refunds: tally(2, ours) };
      const network = { ...local, refunds: tally(2, theirs) };
      return {
        id: `stl_EXP${n}`,
        merchant_id: DEMO.merchantId,
        terminal_id: terminalId,
        batch_no: n,
        totals_json: JSON.stringify({ ...local, cash: tally(4, 100_000_000), local }),
        network_totals_json: JSON.stringify(network),
        balanced: ours === theirs ? 1 : 0,
        created_by: 'op:00',
        created_at: at,
      };
    };
    await sys.ctx.store.db
      .insertInto('settlements')
      .values([
        batch(1, DEMO.terminalId, '2025-06-01T15:59:59.000Z', 700, 700),
        batch(2, 'T0000009', '2025-06-02T16:00:00.000Z', 700, 699),
        batch(3, DEMO.terminalId, '2025-06-03T01:02:03.000Z', 1, 1),
      ])
      .execute();
    const window = `from=2025-06-01T00:00:00.000Z&to=2025-06-08T00:00:00.000Z`;
    const csv = await streamCsv(sys.base, `/v1/exports/settlements.csv?${window}`, boss.token);
    expectCsvFile(csv, 'settlements');
    expect(csv.header).toEqual([
      '结算编号',
      '终端号',
      '批次号',
      '结算时间',
      '消费笔数',
      '消费金额(元)',
      '撤销笔数',
      '撤销金额(元)',
      '退款笔数',
      '退款金额(元)',
      '现金笔数',
      '现金金额(元)',
      '网络消费笔数',
      '网络消费金额(元)',
      '网络撤销笔数',
      '网络撤销金额(元)',
      '网络退款笔数',
      '网络退款金额(元)',
      '币种',
      '对账结果',
      '差异项',
      '结算人',
    ]);
    expect(csv.records).toBe(3);
    const rows = [...csv.kept.values()].map((r) => byColumn(csv.header, r));
    // Newest first, as GET /v1/settlements lists them.
    const listed = await boss.call('GET', `/v1/settlements?${window}`);
    expect(rows.map((r) => r.结算编号)).toEqual(listed.body.data.map((s: { id: string }) => s.id));
    expect(rows.map((r) => r.结算编号)).toEqual(['stl_EXP3', 'stl_EXP2', 'stl_EXP1']);
    expect(rows[0]).toMatchObject({
      终端号: DEMO.terminalId,
      批次号: '3',
      结算时间: '2025-06-03 09:02:03',
      消费笔数: '3',
      '消费金额(元)': '12345.67',
      撤销笔数: '1',
      '撤销金额(元)': '0.05',
      '退款金额(元)': '0.01',
      现金笔数: '4',
      '现金金额(元)': '1000000.00',
      '网络退款金额(元)': '0.01',
      币种: 'CNY',
      对账结果: '平账',
      差异项: '',
      结算人: 'op:00',
    });
    expect(rows[1]).toMatchObject({
      终端号: 'T0000009',
      结算时间: '2025-06-03 00:00:00',
      '退款金额(元)': '7.00',
      '网络退款金额(元)': '6.99',
      对账结果: '不平',
      差异项: '退款',
    });
    expect(rows[2]?.结算时间).toBe('2025-06-01 23:59:59');

    const oneTill = await streamCsv(
      sys.base,
      `/v1/exports/settlements.csv?${window}&terminalId=T0000009`,
      admin.token,
    );
    expect([...oneTill.kept.values()].map((r) => r[0])).toEqual(['stl_EXP2']);
    // Read in keyset pages, a batch per page here: the same rows, none twice.
    const caller = await authenticate(sys.ctx, admin.token);
    let pages = 0;
    const paged = await exportSettlements(
      sys.ctx,
      caller,
      { from: '2025-06-01T00:00:00.000Z', to: '2025-06-08T00:00:00.000Z' },
      { pageRows: 1, onPage: () => pages++ },
    );
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(
      Buffer.concat(await paged.body.toArray()),
    );
    expect(text.split('\r\n').map((l) => l.split(',')[0])).toEqual([
      '\uFEFF结算编号',
      'stl_EXP3',
      'stl_EXP2',
      'stl_EXP1',
      '',
    ]);
    expect(pages).toBe(3); // a page of one batch each; the third sees nothing after it
  });

  it("exports a reconciliation run's mismatches: kinds, amounts and the advice in Chinese, in the run's order", async () => {
    const card = await boss.call('GET', `/v1/payments/${made.card?.paymentId}`);
    const rrn = card.body.network.reference as string;
    expect(rrn).toMatch(/^[0-9A-Za-z]{12}$/);
    const at = card.body.capturedAt as string;
    const day = at.slice(0, 10); // the simulator's settlement day is the UTC date
    const line = (ref: string, amount: number) =>
      `${ref},${DEMO.terminalId},000123,000001,sale,${amount},CNY,,approved,00,${at}`;
    const file = [
      'rrn,terminal_id,stan,batch_no,kind,amount_minor,currency,original_rrn,status,response_code,created_at',
      line('ZZ0000000001', 1_234), // a sale we never made
      line('ZZ0000000001', 1_234), // booked twice
      line(rrn, 99_000), // ours is 999.99
    ].join('\n');
    const posted = await boss.call('POST', '/v1/reconciliations', { day, csv: `${file}\n` });
    expect(posted.status, JSON.stringify(posted.body)).toBe(201);
    const run = (await boss.call('GET', `/v1/reconciliations/${posted.body.id}`)).body as {
      mismatches: { kind: string; reference: string; advice: { code: string; text: { 'zh-CN': string } } }[];
    };

    const path = `/v1/exports/reconciliations/${posted.body.id}/mismatches.csv`;
    const csv = await streamCsv(sys.base, path, boss.token);
    expectCsvFile(csv, `reconciliation-${day}-mismatches`);
    expect(csv.header).toEqual([
      '序号',
      '差异类型',
      '交易类型',
      '参考号',
      '原交易参考号',
      '终端号',
      '清算文件行号',
      '网络方金额(元)',
      '网络方币种',
      '网络方状态',
      '网络方应答码',
      '网络方记账时间',
      '我方金额(元)',
      '我方币种',
      '我方状态',
      '我方发送时间',
      '重复于行号',
      '处理建议',
      '建议代码',
      '说明',
    ]);
    const rows = [...csv.kept.values()].map((r) => byColumn(csv.header, r));
    // Every mismatch, numbered in the order the run lists them, with the same advice word for word.
    expect(rows).toHaveLength(run.mismatches.length);
    expect(rows.map((r) => r.序号)).toEqual(run.mismatches.map((_, i) => String(i + 1)));
    expect(rows.map((r) => r.建议代码)).toEqual(run.mismatches.map((m) => m.advice.code));
    expect(rows.map((r) => r.处理建议)).toEqual(run.mismatches.map((m) => m.advice.text['zh-CN']));
    const ours = rows.filter(
      (r) => r.参考号 === 'ZZ0000000001' || r.参考号 === rrn || r.参考号 === `="${rrn}"`,
    );
    expect(ours).toHaveLength(3);
    expect(ours[0]).toMatchObject({
      差异类型: '我方缺少',
      交易类型: '消费',
      终端号: DEMO.terminalId,
      清算文件行号: '2',
      '网络方金额(元)': '12.34',
      网络方币种: 'CNY',
      网络方状态: '已批准',
      网络方应答码: '="00"',
      网络方记账时间: shanghai(at),
      '我方金额(元)': '',
      我方状态: '',
      重复于行号: '',
      建议代码: 'find_unrecorded_sale',
    });
    expect(ours[0]?.处理建议).toContain('网络方有一笔我方没有记录的消费');
    expect(ours[1]).toMatchObject({
      清算文件行号: '3',
      重复于行号: '2',
      建议代码: 'ask_acquirer_to_reverse_duplicate',
    });
    expect(ours[2]).toMatchObject({
      差异类型: '金额不一致',
      '网络方金额(元)': '990.00',
      '我方金额(元)': '999.99',
      我方币种: 'CNY',
      我方状态: '已收款',
      建议代码: 'ask_acquirer_to_correct_amount',
    });
    expect(ours[2]?.处理建议).toContain('两边金额（或币种）不一致');
    expect(ours[2]?.我方发送时间).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(ours[2]?.说明).toContain('our ledger 99999 CNY');

    // Another merchant's run is answered as a made-up one: 404, before any byte of CSV.
    await sys.ctx.store.db
      .insertInto('merchants')
      .values({
        id: '898100000000077',
        name: 'Other (exports)',
        currency: 'CNY',
        available_funds_minor: 0,
        policy_json: '{}',
        created_at: new Date().toISOString(),
      })
      .execute();
    const stored = await sys.ctx.store.db
      .selectFrom('reconciliations')
      .selectAll()
      .where('id', '=', posted.body.id)
      .executeTakeFirstOrThrow();
    await sys.ctx.store.db
      .insertInto('reconciliations')
      .values({ ...stored, id: 'rec_EXPORTSOTHERMERCHANT', merchant_id: '898100000000077' })
      .execute();
    const theirs = await boss.call(
      'GET',
      '/v1/exports/reconciliations/rec_EXPORTSOTHERMERCHANT/mismatches.csv',
    );
    const madeUp = await boss.call('GET', '/v1/exports/reconciliations/rec_NOSUCHRUN/mismatches.csv');
    for (const r of [theirs, madeUp]) {
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 404, code: 'not_found' });
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await cashier.call('GET', path)).status).toBe(403);
    // The page's numbering holds across keyset pages of the export.
    const caller = await authenticate(sys.ctx, boss.token);
    let pages = 0;
    const paged = await exportMismatches(sys.ctx, caller, posted.body.id, {
      pageRows: 1,
      onPage: () => pages++,
    });
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(
      Buffer.concat(await paged.body.toArray()),
    );
    expect(text.split('\r\n').map((l) => l.split(',')[0])).toEqual([
      '\uFEFF序号',
      ...run.mismatches.map((_, i) => String(i + 1)),
      '',
    ]);
    expect(pages).toBe(run.mismatches.length);
  });

  it('exports the operators to admins: role and state in Chinese, locks in force with Shanghai times, no password', async () => {
    const password = 'Op-CSV-5521';
    const added = await admin.call('POST', '/v1/operators', {
      operatorNo: '61',
      name: '=王五, "小五"',
      role: 'cashier',
      password,
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect((await admin.call('PATCH', '/v1/operators/61', { disabled: true })).status).toBe(200);
    const lockedUntil = new Date(Date.now() + 10 * 60_000).toISOString();
    await sys.ctx.store.db
      .updateTable('operators')
      .set({ locked_until: lockedUntil, approval_locked_until: lockedUntil })
      .where('merchant_id', '=', DEMO.merchantId)
      .where('operator_no', '=', '02')
      .execute();

    const csv = await streamCsv(sys.base, '/v1/exports/operators.csv', admin.token);
    expectCsvFile(csv, 'operators');
    expect(csv.header).toEqual([
      '操作员号',
      '姓名',
      '角色',
      '状态',
      '停用时间',
      '签到锁定至',
      '退款密码锁定至',
    ]);
    const rows = [...csv.kept.values()].map((r) => byColumn(csv.header, r));
    const listed = (await admin.call('GET', '/v1/operators')).body.data as { operatorNo: string }[];
    expect(rows.map((r) => r.操作员号)).toEqual(listed.map((o) => `="${o.operatorNo}"`));
    const by = (no: string) => rows.find((r) => r.操作员号 === `="${no}"`);
    expect(by('01')).toMatchObject({ 姓名: '收银员 01', 角色: '收银员', 状态: '启用', 签到锁定至: '' });
    expect(by('99')).toMatchObject({ 角色: '管理员', 状态: '启用' });
    expect(by('02')).toMatchObject({
      角色: '主管',
      签到锁定至: shanghai(lockedUntil),
      退款密码锁定至: shanghai(lockedUntil),
    });
    expect(by('61')).toMatchObject({ 姓名: `'=王五, "小五"`, 角色: '收银员', 状态: '已停用' });
    expect(by('61')?.停用时间).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    const res = await fetch(`${sys.base}/v1/exports/operators.csv`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    const text = await res.text();
    for (const secret of [password, '$argon2', 'password']) expect(text).not.toContain(secret);
    for (const who of [boss, cashier]) {
      const r = await who.call('GET', '/v1/exports/operators.csv');
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 403, code: 'forbidden' });
    }
    expect((await call(sys.base, 'GET', '/v1/exports/operators.csv')).status).toBe(401);
  });

  describe('100,000 refunds', () => {
    const N = 100_000;
    const BULK_FROM = '2025-03-01T00:00:00.000Z';
    const bulkId = (i: number) => `re_BULK${String(i).padStart(6, '0')}`;
    const bulkAmount = (i: number) => 100 + (i % 997);
    const bulkNote = (i: number) => (i % 1_000 === 0 ? `第${i}号，"原因", 见附件\n二` : null);
    const window = `from=${encodeURIComponent(BULK_FROM)}&to=2026-01-01T00:00:00.000Z`;

    beforeAll(async () => {
      // Straight into the store in one transaction, as the growth seed does (test/store/batch-statements):
      // a hundred payments, a thousand refunds each, a minute apart.
      const at = (i: number) => new Date(Date.parse(BULK_FROM) + i * 60_000).toISOString();
      await sys.ctx.store.tx(async (trx) => {
        const payments = Array.from({ length: N / 1_000 }, (_, p) => ({
          id: `pay_BULK${String(p).padStart(4, '0')}`,
          merchant_id: DEMO.merchantId,
          terminal_id: DEMO.terminalId,
          order_no: `BULK-${p}`,
          kind: 'sale' as const,
          parent_payment_id: null,
          amount_minor: 10_000_000,
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
          captured_at: at(p * 1_000),
          created_at: at(p * 1_000),
          updated_at: at(p * 1_000),
        }));
        await trx.insertInto('payments').values(payments).execute();
        for (let start = 0; start < N; start += 1_000) {
          const rows: RefundTable[] = [];
          for (let i = start; i < start + 1_000; i++) {
            const payment = payments[Math.floor(i / 1_000)];
            rows.push({
              id: bulkId(i),
              merchant_id: DEMO.merchantId,
              payment_id: payment?.id as string,
              order_no: payment?.order_no as string,
              terminal_id: DEMO.terminalId,
              amount_minor: bulkAmount(i),
              fee_minor: 0,
              net_amount_minor: bulkAmount(i),
              merchant_fee_returned_minor: 0,
              currency: 'CNY',
              reason_code: bulkNote(i) ? 'other' : 'quality_issue',
              reason_note: bulkNote(i),
              method: 'cash',
              status: 'succeeded',
              items_json: '[]',
              approvals_json: '[{"operatorNo":"00","at":"2025-03-01T00:00:00.000Z"}]',
              consumer_enc: null,
              consumer_masked_json: i % 10 === 0 ? '{"phone":"139****0000"}' : null,
              delayed: 0,
              expected_arrival: at(i).slice(0, 10),
              network_reference: `CASH-${i}`,
              response_code: '00',
              created_by: 'op:01',
              settlement_id: null,
              created_day: at(i).slice(0, 10),
              created_at: at(i),
              updated_at: at(i),
              handed_off_at: null,
            });
          }
          await trx.insertInto('refunds').values(rows).execute();
        }
      });
    }, 180_000);

    it('streams them all through HTTP in keyset pages with the heap bounded', {
      timeout: 240_000,
    }, async () => {
      const samples = new Set([0, 1, 999, 1_000, 50_000, N - 1]);
      // A collection first, so the baseline is what the process holds, not garbage waiting.
      gc();
      const baseline = process.memoryUsage().heapUsed;
      const csv = await streamCsv(
        sys.base,
        `/v1/exports/refunds.csv?${window}`,
        admin.token,
        (i) => samples.has(i),
        50,
      );
      const growthMb = (csv.heapPeakBytes - baseline) / 2 ** 20;
      const heldMb = (csv.livePeakBytes - baseline) / 2 ** 20;
      console.log(
        `export of ${N} refunds on ${target.name}: heap peak +${growthMb.toFixed(1)} MB, held after collections +${heldMb.toFixed(1)} MB`,
      );
      expect(csv.status).toBe(200);
      expect(csv.records).toBe(N);
      for (const k of samples) {
        const i = N - 1 - k; // newest first
        const row = byColumn(csv.header, csv.kept.get(k));
        expect(row.退款单号, `record ${k}`).toBe(bulkId(i));
        expect(row['退款金额(元)']).toBe((bulkAmount(i) / 100).toFixed(2));
        expect(row.原因说明).toBe(bulkNote(i) ?? '');
        expect(row['联系电话(脱敏)']).toBe(i % 10 === 0 ? '139****0000' : '');
        expect(row.批准人).toBe('00');
        expect(row.状态).toBe('已退款');
      }
      // Generous bounds: the file itself is ~25 MB of text (~50 MB as JS strings); a stream holds a page.
      expect(growthMb).toBeLessThan(60);
      expect(heldMb).toBeLessThan(20);
    });

    it('writes its first bytes before it reads the last page, and reads a page only as the bytes go out', {
      timeout: 240_000,
    }, async () => {
      const caller = await authenticate(sys.ctx, admin.token);
      let pagesRead = 0;
      const csv = await exportRefunds(
        sys.ctx,
        caller,
        { from: BULK_FROM, to: '2026-01-01T00:00:00.000Z' },
        { onPage: () => pagesRead++ },
      );
      // Nothing consumed yet: the stream has read the first page and stopped (backpressure).
      await new Promise((r) => setTimeout(r, 200));
      expect(pagesRead).toBe(1);
      let pagesAtFirstChunk = -1;
      let bytes = 0;
      for await (const chunk of csv.body) {
        if (pagesAtFirstChunk < 0) pagesAtFirstChunk = pagesRead;
        bytes += (chunk as Buffer).length;
      }
      const pages = Math.ceil(N / EXPORT_PAGE_ROWS);
      expect(pagesAtFirstChunk).toBeLessThanOrEqual(2);
      expect(pagesRead).toBeGreaterThanOrEqual(pages);
      expect(bytes).toBeGreaterThan(N * 50);
    });
  });
});
