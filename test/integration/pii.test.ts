import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/db.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  supervisor2,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';
import { catalogTables, databaseTables, dumpTables } from './support/dump.js';
import { spawnServer } from './support/server.js';

/**
 * PRODUCT.md §7: card numbers are never stored whole, consumer personal data is encrypted at rest
 * and masked on screens, passwords are memory-hard hashes, and none of it reaches a log line —
 * on the success paths and on the error paths (bad input, wrong passwords, network down).
 */

const PAN16 = testPan('622202100001234');
const PAN19 = testPan('622202987654321012'); // 19 digits: a distinctive 9-digit middle
const CONSUMER = {
  name: '张三丰',
  phone: '13812345678',
  email: 'zhang.sanfeng@example.com',
  bankAccount: '6222021234567890123',
};
/** Sent in a rejected field: must not be kept anywhere either. */
const ID_CARD = '110101199003074518';
const PASSWORDS = ['1111', '123456', '222222', '12345678'];

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in tests
type Json = any;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
interface Needle {
  what: string;
  re: RegExp;
}
/** Anywhere in the text. */
const plain = (what: string, s: string): Needle => ({ what, re: new RegExp(escapeRe(s)) });
/** As a whole token (not inside a longer run of letters/digits such as a hex hash or a ULID). */
const token = (what: string, s: string): Needle => ({
  what,
  re: new RegExp(`(?<![0-9A-Za-z])${escapeRe(s)}(?![0-9A-Za-z])`),
});

function panNeedles(pan: string): Needle[] {
  const middle = pan.slice(6, -4);
  return [
    plain(`full card number ${pan}`, pan),
    plain(`card number without its last four (${pan.slice(0, -4)})`, pan.slice(0, -4)),
    plain(`card number without its BIN (${pan.slice(6)})`, pan.slice(6)),
    middle.length >= 8
      ? plain(`card middle digits ${middle}`, middle)
      : token(`card middle digits ${middle}`, middle),
  ];
}

const personalNeedles: Needle[] = [
  plain('consumer name', CONSUMER.name),
  plain('consumer phone', CONSUMER.phone),
  plain('consumer phone without prefix', CONSUMER.phone.slice(3)),
  plain('consumer e-mail', CONSUMER.email),
  plain('consumer e-mail local part', 'zhang.sanfeng'),
  plain('consumer bank account', CONSUMER.bankAccount),
  plain('consumer bank account (all but last four)', CONSUMER.bankAccount.slice(0, -4)),
  plain('ID card number from a rejected field', ID_CARD),
];

const passwordNeedles: Needle[] = [
  { what: 'a "password" field with a value', re: /"password"\s*:\s*"(?!\[redacted\])/ },
  ...PASSWORDS.map((p) => plain(`password ${p} as a JSON string`, `"${p}"`)),
  ...PASSWORDS.map((p) => ({
    what: `password ${p} next to the word password`,
    re: new RegExp(`password\\W{0,12}${p}`, 'i'),
  })),
];

function found(text: string, needles: Needle[]): string[] {
  const hits: string[] = [];
  for (const n of needles) {
    const m = n.re.exec(text);
    if (m) {
      const at = m.index;
      hits.push(`${n.what}: …${text.slice(Math.max(0, at - 120), at + m[0].length + 60)}…`);
    }
  }
  return hits;
}

/** Byte search in raw files: needles are matched against the UTF-8 bytes read as latin1. */
function foundInBytes(bytes: Buffer, needles: Needle[]): string[] {
  const text = bytes.toString('latin1');
  const asBytes = (n: Needle): Needle => ({
    what: n.what,
    re: new RegExp(Buffer.from(n.re.source, 'utf8').toString('latin1'), n.re.flags),
  });
  return found(text, needles.map(asBytes)).map((h) => h.replace(/[^\x20-\x7e]/g, '.'));
}

describe.each(storeTargets.map((t) => [t.name, t] as const))('personal data on %s', (name, target) => {
  let system: TestSystem;
  let closed = false;
  let logs = '';
  let store: Store;
  const sessionTokens: string[] = [];
  /** Bodies of every answer, errors included (what screens, receipts and merchant systems get). */
  const answers: string[] = [];
  const refundIds: string[] = [];

  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs += chunk.toString();
      done();
    },
  });

  const tokenNeedles = () => sessionTokens.map((t) => plain('a session token (bearer credential)', t));
  const allNeedles = () => [
    ...panNeedles(PAN16),
    ...panNeedles(PAN19),
    ...personalNeedles,
    ...tokenNeedles(),
  ];

  beforeAll(async () => {
    const url = await target.freshUrl();
    system = await startTestSystem(url, {}, { logStream });
    const base = system.base;

    const remember = async (
      label: string,
      p: Promise<{ status: number; body: unknown }>,
      want: number,
    ): Promise<Json> => {
      const r = await p;
      expect(r.status, `${label}: ${JSON.stringify(r.body)}`).toBe(want);
      answers.push(JSON.stringify(r.body));
      return r.body;
    };

    const cashier: Client = await signIn(base, '01', '1111');
    const sup: Client = await signIn(base, '00', '123456');
    const admin: Client = await signIn(base, '99', '12345678');
    sessionTokens.push(cashier.token, sup.token, admin.token);

    // Sales with known card numbers.
    const pay1 = await remember(
      'card sale (16 digits)',
      cashier.call(
        'POST',
        '/v1/payments',
        {
          orderNo: orderNo('PII'),
          amount: 88_800,
          currency: 'CNY',
          method: 'card',
          card: { pan: PAN16, expiry: '2912' },
        },
        { 'idempotency-key': `pii-pay-1-${name}` },
      ),
      201,
    );
    const pay2 = await remember(
      'card sale (19 digits, items)',
      cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PII'),
        amount: 900_000,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN19, expiry: '2810' },
        items: [{ sku: 'TV-1', name: '电视机', qty: 1, unitAmount: 900_000 }],
      }),
      201,
    );
    const pay3 = await remember(
      'cash sale',
      cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PII'),
        amount: 20_000,
        currency: 'CNY',
        method: 'cash',
      }),
      201,
    );
    const pay4 = await remember(
      'card sale to void',
      cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PII'),
        amount: 3_300,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN16, expiry: '2912' },
      }),
      201,
    );
    expect(pay1.card).toEqual({ last4: PAN16.slice(-4), bin: PAN16.slice(0, 6) });

    // Refunds carrying the consumer's personal data, with the supervisors' refund passwords.
    const refund = (label: string, body: Record<string, unknown>, key?: string, want = 201) =>
      remember(label, cashier.call('POST', '/v1/refunds', body, key ? { 'idempotency-key': key } : {}), want);
    const r1 = await refund(
      'refund approved at the counter',
      {
        paymentId: pay1.id,
        amount: 10_000,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
        consumer: CONSUMER,
      },
      `pii-r1-${name}`,
    );
    const r2 = await refund('refund waiting for approval', {
      orderNo: pay1.orderNo,
      amount: 5_000,
      reason: { code: 'other', note: 'wrong colour' },
      consumer: CONSUMER,
    });
    await remember(
      'approve the waiting refund',
      sup.call(
        'POST',
        `/v1/refunds/${r2.id}/approve`,
        { approvals: [supervisor] },
        { 'idempotency-key': `pii-a2-${name}` },
      ),
      200,
    );
    const r3 = await refund('large refund, two supervisors', {
      paymentId: pay2.id,
      items: [{ sku: 'TV-1', qty: 1 }],
      reason: { code: 'expired_goods' },
      approvals: [supervisor, supervisor2],
      consumer: CONSUMER,
    });
    const r4 = await refund('bank transfer refund', {
      paymentId: pay3.id,
      amount: 20_000,
      method: 'bank_transfer',
      reason: { code: 'duplicate_payment' },
      approvals: [supervisor],
      // A bank transfer takes the account and the holder's name typed twice (issue 11).
      consumer: { ...CONSUMER, bankAccountConfirm: CONSUMER.bankAccount, nameConfirm: CONSUMER.name },
    });
    const r5 = await refund('refund then canceled', {
      paymentId: pay1.id,
      amount: 1_000,
      reason: { code: 'transaction_error' },
      consumer: { phone: CONSUMER.phone, email: CONSUMER.email },
    });
    await remember(
      'cancel',
      cashier.call('POST', `/v1/refunds/${r5.id}/cancel`, { note: 'by mistake' }),
      200,
    );
    await remember(
      'void',
      cashier.call('POST', `/v1/payments/${pay4.id}/void`, { approvals: [supervisor] }),
      200,
    );

    // Error paths, each carrying the secrets.
    await refund(
      'bad amount',
      {
        paymentId: pay1.id,
        amount: 'lots',
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
        consumer: CONSUMER,
      },
      undefined,
      400,
    );
    await refund(
      'unknown consumer field',
      {
        paymentId: pay1.id,
        amount: 100,
        reason: { code: 'quality_issue' },
        consumer: { ...CONSUMER, idCard: ID_CARD },
      },
      undefined,
      400,
    );
    await refund(
      'bad phone',
      {
        paymentId: pay1.id,
        amount: 100,
        reason: { code: 'quality_issue' },
        consumer: { ...CONSUMER, phone: `${CONSUMER.phone}-${ID_CARD}` },
      },
      undefined,
      400,
    );
    await refund(
      'over the refundable remainder',
      {
        paymentId: pay1.id,
        amount: 10_000_000,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
        consumer: CONSUMER,
      },
      undefined,
      409,
    );
    await refund(
      'unknown payment',
      { paymentId: 'pay_nope', amount: 100, reason: { code: 'quality_issue' }, consumer: CONSUMER },
      undefined,
      404,
    );
    await refund(
      'wrong refund password',
      {
        paymentId: pay1.id,
        amount: 100,
        reason: { code: 'quality_issue' },
        approvals: [{ operatorNo: '00', password: '1111' }],
        consumer: CONSUMER,
      },
      undefined,
      403,
    );
    await refund(
      'Idempotency-Key reused with another body',
      {
        paymentId: pay1.id,
        amount: 10_000,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
        consumer: { ...CONSUMER, name: `${CONSUMER.name}X` },
      },
      `pii-r1-${name}`,
      422,
    );
    const malformed = await fetch(`${base}/v1/refunds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cashier.token}` },
      body: `{"paymentId":"${pay1.id}","consumer":${JSON.stringify(CONSUMER)},"approvals":[{"operatorNo":"00","password":"123456"}],"card":"${PAN16}",}`,
    });
    answers.push(await malformed.text());
    expect(malformed.status).toBe(400);
    await remember(
      'sign-in with a wrong password',
      call(base, 'POST', '/v1/sessions', { terminalId: 'T0000001', operatorNo: '01', password: '123456' }),
      401,
    );
    await remember(
      'void with a wrong password',
      cashier.call('POST', `/v1/payments/${pay1.id}/void`, {
        approvals: [{ operatorNo: '00', password: '222222' }],
      }),
      403,
    );
    const badLuhn = `${PAN16.slice(0, -1)}${(Number(PAN16.slice(-1)) + 1) % 10}`;
    await remember(
      'card failing its check digit',
      cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PII'),
        amount: 100,
        currency: 'CNY',
        method: 'card',
        card: { pan: badLuhn, expiry: '2912' },
      }),
      400,
    );
    await remember(
      'card number with a letter',
      cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PII'),
        amount: 100,
        currency: 'CNY',
        method: 'card',
        card: { pan: `${PAN19}X`, expiry: '2912' },
      }),
      400,
    );
    await remember(
      'card details on a cash sale',
      cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PII'),
        amount: 100,
        currency: 'CNY',
        method: 'cash',
        card: { pan: PAN16, expiry: '2912' },
      }),
      400,
    );
    await remember(
      'bearer token that is not one',
      call(base, 'GET', '/v1/refunds', undefined, { authorization: 'Bearer rds_not-a-session' }),
      401,
    );

    // Network down: the sale fails, the refund waits in the outbox and the worker logs its retries.
    (system.inProcess as NonNullable<typeof system.inProcess>).down = true;
    await remember(
      'card sale while the network is down',
      cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PII'),
        amount: 4_400,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN19, expiry: '2810' },
      }),
      503,
    );
    const r6 = await refund('refund while the network is down', {
      paymentId: pay1.id,
      amount: 2_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
      consumer: CONSUMER,
    });
    await until(
      async () => logs,
      (l) => l.includes('outbox work will be retried'),
      10_000,
    );
    (system.inProcess as NonNullable<typeof system.inProcess>).down = false;

    refundIds.push(r1.id, r2.id, r3.id, r4.id, r5.id, r6.id);
    await until(
      async () => {
        const busy = await system.ctx.store.db
          .selectFrom('refunds')
          .select('id')
          .where('status', 'in', ['approved', 'processing'])
          .execute();
        return busy.length;
      },
      (n) => n === 0,
      20_000,
    );

    // What screens and merchant systems read back.
    for (const id of refundIds) {
      await remember(`GET refund ${id}`, cashier.call('GET', `/v1/refunds/${id}`), 200);
      await remember(`GET refund events ${id}`, cashier.call('GET', `/v1/refunds/${id}/events`), 200);
    }
    await remember('list refunds', cashier.call('GET', '/v1/refunds?limit=100'), 200);
    await remember('list payments', cashier.call('GET', '/v1/payments?limit=100'), 200);
    await remember('order', cashier.call('GET', `/v1/orders/${pay1.orderNo}`), 200);
    await remember('audit', admin.call('GET', '/v1/audit'), 200);
    // Vouchers (§3.7), where the product serves them: masked on receipts as on screens.
    for (const format of ['text', 'html', 'escpos']) {
      const res = await fetch(`${base}/v1/refunds/${r1.id}/receipt?format=${format}`, {
        headers: { authorization: `Bearer ${cashier.token}` },
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      answers.push(bytes.toString('utf8'), new TextDecoder('gbk').decode(bytes)); // thermal printers speak GBK
    }

    store = system.ctx.store;
  }, 120_000);

  afterAll(async () => {
    if (!closed) await system?.close();
  });

  it('(a) logs carry no card number, password or personal data', () => {
    expect(logs).toContain('incoming request');
    expect(logs).toContain('outbox work will be retried');
    for (const line of logs.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
    expect(found(logs, [...allNeedles(), ...passwordNeedles])).toEqual([]);
  });

  it('(b) no column of any table holds them in plaintext; passwords are argon2id', async () => {
    const catalog = await catalogTables(store);
    for (const t of databaseTables) expect(catalog, `table ${t}`).toContain(t);
    const dump = await dumpTables(store, catalog);
    const hits: string[] = [];
    for (const [table, text] of dump) {
      for (const h of found(text, [
        ...allNeedles(),
        ...passwordNeedles,
        ...PASSWORDS.map((p) => token(`password ${p}`, p)),
      ]))
        hits.push(`${table}: ${h}`);
    }
    expect(hits).toEqual([]);

    const operators = await store.db
      .selectFrom('operators')
      .select(['operator_no', 'password_hash'])
      .execute();
    expect(operators.length).toBeGreaterThanOrEqual(4);
    for (const o of operators) expect(o.password_hash, `operator ${o.operator_no}`).toMatch(/^\$argon2id\$/);

    // The consumer is kept sealed (AES-GCM) and masked, and card payments as BIN + last four + token.
    const refunds = await store.db
      .selectFrom('refunds')
      .select(['id', 'consumer_enc', 'consumer_masked_json'])
      .where('id', 'in', refundIds)
      .execute();
    for (const r of refunds) {
      expect(r.consumer_enc, r.id).toMatch(/^v2\.k1\./);
      expect(r.consumer_masked_json, r.id).toBeTruthy();
    }
    const cards = await store.db
      .selectFrom('payments')
      .select(['card_bin', 'card_last4', 'card_token'])
      .where('card_last4', 'in', [PAN16.slice(-4), PAN19.slice(-4)])
      .execute();
    expect(cards.length).toBeGreaterThanOrEqual(3);
    for (const c of cards) {
      expect(c.card_bin).toBe('622202');
      expect(c.card_token).toMatch(/^tok_/);
    }
  });

  it.runIf(name === 'sqlite')('(b) nor do the raw SQLite database and WAL files, while running', () => {
    const path = system.url.slice('sqlite:'.length);
    expect(existsSync(path)).toBe(true);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      if (!existsSync(file)) continue;
      const hits = foundInBytes(readFileSync(file), [
        ...allNeedles(),
        plain('a "password" field', '"password":'),
      ]);
      expect(hits, file).toEqual([]);
    }
  });

  it('(c) the API shows the consumer only masked, and the card only as BIN and last four', async () => {
    const client = await signIn(system.base, '01', '1111');
    sessionTokens.push(client.token);
    for (const id of refundIds) {
      const r = await client.call('GET', `/v1/refunds/${id}`);
      expect(r.status).toBe(200);
      const c = r.body.consumer as Record<string, string>;
      expect(c.phone).toBe('138****5678');
      expect(c.email).toBe('z***@example.com');
      if (c.name !== undefined) expect(c.name).toBe('张**');
      if (c.bankAccount !== undefined) expect(c.bankAccount).toBe('****0123');
    }
    const first = await client.call('GET', `/v1/refunds/${refundIds[0]}`);
    expect(first.body.consumer).toEqual({
      name: '张**',
      phone: '138****5678',
      email: 'z***@example.com',
      bankAccount: '****0123',
    });
    expect(found(answers.join('\n'), allNeedles())).toEqual([]);
    expect(found(answers.join('\n'), passwordNeedles)).toEqual([]);
  });

  it('(a)(b) after a clean shutdown: no secret in the shutdown logs or the checkpointed file', async () => {
    await system.close();
    closed = true;
    expect(found(logs, [...allNeedles(), ...passwordNeedles])).toEqual([]);
    if (name !== 'sqlite') return;
    const path = system.url.slice('sqlite:'.length);
    const reopened = openStore(system.url);
    await reopened.close(); // a last checkpoint folds the WAL into the file
    for (const file of [path, `${path}-wal`]) {
      if (!existsSync(file)) continue;
      expect(foundInBytes(readFileSync(file), allNeedles()), file).toEqual([]);
    }
  });

  it('(a) the real server process, with its production logger, logs none of them either', {
    timeout: 60_000,
  }, async () => {
    const url = await target.freshUrl();
    const server = await spawnServer({
      DATABASE_URL: url,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'refund-desk-pii-')),
      NETWORK_DELAY_MS: '20',
      NETWORK: 'in-process',
      LOG_LEVEL: 'info',
    });
    const tokens: string[] = [];
    try {
      const cashier = await signIn(server.base, '01', '1111');
      tokens.push(cashier.token);
      const pay = await cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('PIIP'),
        amount: 50_000,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN19, expiry: '2810' },
      });
      expect(pay.status).toBe(201);
      const body = {
        paymentId: pay.body.id,
        amount: 1_000,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
        consumer: CONSUMER,
      };
      expect(
        (await cashier.call('POST', '/v1/refunds', body, { 'idempotency-key': 'pii-proc-1' })).status,
      ).toBe(201);
      expect((await cashier.call('POST', '/v1/refunds', { ...body, amount: 'x' })).status).toBe(400);
      const wrong = { ...body, approvals: [{ operatorNo: '00', password: '222222' }] };
      expect((await cashier.call('POST', '/v1/refunds', wrong)).status).toBe(403);
      const bad = { ...body, amount: 100, consumer: { ...CONSUMER, idCard: ID_CARD } };
      expect((await cashier.call('POST', '/v1/refunds', bad)).status).toBe(400);
      expect(
        (
          await call(server.base, 'POST', '/v1/sessions', {
            terminalId: 'T0000001',
            operatorNo: '00',
            password: '1111',
          })
        ).status,
      ).toBe(401);
    } finally {
      await server.stop();
    }
    // The log lines (JSON); the start-up banner is separate text on the same stream.
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.some((l) => l.includes('incoming request'))).toBe(true);
    const needles = [
      ...panNeedles(PAN19),
      ...personalNeedles,
      ...passwordNeedles,
      ...tokens.map((t) => plain('a session token (bearer credential)', t)),
    ];
    expect(found(lines.join('\n'), needles)).toEqual([]);
  });
});
