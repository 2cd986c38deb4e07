import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { simpleParser } from 'mailparser';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerLang } from '../../src/domain/returns.js';
import { ReceiptDelivery } from '../../src/receipts/send.js';
import { type MessageStep, statusMessage } from '../../src/receipts/status-messages.js';
import { CONSUMER_MESSAGE_KIND } from '../../src/store/consumer-messages.js';
import { OutboxWorker } from '../../src/worker/outbox.js';
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

/**
 * Issue 12: a consumer who gave a phone and an e-mail on a QR return hears of each step of their
 * refund — submitted, goods accepted, at the network, refunded (or rejected) — once per step and
 * channel, in the language they chose, with their status link; judged by what the senders really
 * wrote (DATA_DIR/sms.log and the .eml files), with two outbox workers draining the same outbox.
 * Their phone and e-mail never reach the service's logs in clear.
 */
const PUBLIC_URL = 'https://shop.example';
const PAN = testPan('622202100006543');

interface Delivered {
  channel: 'sms' | 'email';
  to: string;
  subject: string | null;
  body: string;
}

describe.each(storeTargets)('consumer status messages through the API on $name', (target) => {
  let sys: TestSystem;
  let dataDir: string;
  let cashier: Client;
  let boss: Client;
  let second: OutboxWorker;
  let logText = '';

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'refund-desk-consumer-messages-'));
    const logStream = new Writable({
      write(chunk, _enc, done) {
        logText += String(chunk);
        done();
      },
    });
    sys = await startTestSystem(
      await target.freshUrl(),
      { dataDir, publicUrl: PUBLIC_URL, workerBackoffMs: 100 },
      { logStream },
    );
    // A second worker on the same outbox, as a second process would run one.
    const log = pino({ level: 'info' }, logStream);
    second = new OutboxWorker({
      store: sys.ctx.store,
      network: sys.network,
      log,
      clock: sys.ctx.clock,
      calendar: sys.ctx.calendar,
      backoffBaseMs: 100,
      workerId: 'second',
      receipts: new ReceiptDelivery(
        sys.ctx.store,
        sys.ctx.secrets,
        sys.senders,
        log,
        sys.ctx.clock,
        PUBLIC_URL,
      ),
    });
    second.start();
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, '00', '123456');
  });
  afterAll(async () => {
    await second?.stop();
    await sys?.close();
  });

  const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';

  async function delivered(): Promise<Delivered[]> {
    const out: Delivered[] = [];
    const smsLog = join(dataDir, 'sms.log');
    if (existsSync(smsLog))
      for (const line of readFileSync(smsLog, 'utf8').trim().split('\n').filter(Boolean)) {
        const m = JSON.parse(line) as { to: string; text: string };
        out.push({ channel: 'sms', to: m.to, subject: null, body: m.text });
      }
    const mailDir = join(dataDir, 'mail');
    if (existsSync(mailDir))
      for (const f of readdirSync(mailDir).sort()) {
        const mail = await simpleParser(readFileSync(join(mailDir, f)));
        out.push({
          channel: 'email',
          to: mail.to && !Array.isArray(mail.to) ? mail.to.text : '',
          subject: mail.subject ?? null,
          body: (mail.text ?? '').trim(),
        });
      }
    return out;
  }

  /** Until the refund is in `status` and no consumer message of it is waiting; then both workers run again. */
  async function settled(refundId: string, status: string) {
    await until(
      async () => {
        const r = await sys.ctx.store.db
          .selectFrom('refunds')
          .select('status')
          .where('id', '=', refundId)
          .executeTakeFirstOrThrow();
        const waiting = await sys.ctx.store.db
          .selectFrom('outbox')
          .select('id')
          .where('kind', '=', CONSUMER_MESSAGE_KIND)
          .where('ref_id', '=', refundId)
          .where('status', '!=', 'done')
          .execute();
        return { status: r.status, waiting: waiting.length };
      },
      (s) => s.status === status && s.waiting === 0,
      20_000,
    );
    // Both workers once more: nothing is sent again.
    await Promise.all([second.drain(), sys.worker?.drain()]);
  }

  /** A QR return of a card sale, submitted by the consumer: its refund id and status link. */
  async function submitted(lang: ConsumerLang, contact: { phone?: string; email?: string }) {
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('MSG'),
      amount: 25_600,
      currency: 'CNY',
      method: 'card',
      items: [{ sku: 'TEA-01', name: '龙井茶 250g', qty: 2, unitAmount: 12_800 }],
      card: { pan: PAN, expiry: '3012' },
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const ret = await cashier.call('POST', '/v1/returns', {
      orderNo: sale.body.orderNo,
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    expect(ret.status, JSON.stringify(ret.body)).toBe(201);
    const sent = await call(
      sys.base,
      'POST',
      `/v1/consumer/returns/${tokenOf(ret.body.url)}/submit`,
      { reason: { code: 'quality_issue' }, contact, lang },
      { 'idempotency-key': `c-${Math.random()}` },
    );
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    return {
      returnId: ret.body.id as string,
      refundId: sent.body.refundId as string,
      url: sent.body.trackingUrl as string,
    };
  }

  async function approve(returnId: string, refundId: string) {
    const inspected = await boss.call('POST', `/v1/returns/${returnId}/inspection`, { result: 'accepted' });
    expect(inspected.status, JSON.stringify(inspected.body)).toBe(200);
    const approved = await boss.call('POST', `/v1/refunds/${refundId}/approve`, {
      approvals: [supervisor],
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'intact' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  }

  /** The messages each step must have produced, from the refund as it ended. */
  async function expected(lang: ConsumerLang, refundId: string, url: string, steps: MessageStep[]) {
    const r = await sys.ctx.store.db
      .selectFrom('refunds')
      .selectAll()
      .where('id', '=', refundId)
      .executeTakeFirstOrThrow();
    const note =
      (
        await sys.ctx.store.db
          .selectFrom('refund_events')
          .select('note')
          .where('refund_id', '=', refundId)
          .where('to_status', '=', 'rejected')
          .executeTakeFirst()
      )?.note ?? null;
    return steps.map((step) =>
      statusMessage(lang, step, {
        merchantName: DEMO.merchantName,
        refundId,
        amountMinor: Number(r.amount_minor),
        currency: r.currency,
        expectedArrival: r.expected_arrival,
        networkReference: r.network_reference,
        note,
        url,
      }),
    );
  }

  async function expectDelivered(
    lang: ConsumerLang,
    refundId: string,
    url: string,
    steps: MessageStep[],
    contact: { phone?: string; email?: string },
  ) {
    const want = await expected(lang, refundId, url, steps);
    const mine = (await delivered()).filter((d) => d.body.includes(url));
    const sms = mine.filter((d) => d.channel === 'sms');
    const mail = mine.filter((d) => d.channel === 'email');
    // One per step and channel, exactly the language's text, in the order of the steps (the worker
    // holds a step's message while an earlier one of the refund is still to go).
    expect(sms.map((d) => d.body)).toEqual(contact.phone ? want.map((w) => w.body) : []);
    expect(mail.map((d) => d.body)).toEqual(contact.email ? want.map((w) => w.body) : []);
    expect(mail.map((d) => d.subject)).toEqual(
      contact.email ? want.map((w) => `${w.subject} · ${DEMO.merchantName}`) : [],
    );
    for (const d of sms) expect(d.to).toBe(contact.phone);
    for (const d of mail) expect(d.to).toBe(contact.email);
    for (const d of mine) expect(d.body).toContain(`${PUBLIC_URL}/t/`);
    // The link in the message is the one the consumer was given, and it opens their refund.
    const view = await call(sys.base, 'GET', `/v1/track/${tokenOf(url)}`);
    expect(view.body.refundId).toBe(refundId);
    // The outbox holds one row per step and channel, each done.
    const rows = await sys.ctx.store.db
      .selectFrom('outbox')
      .select(['status', 'payload_json'])
      .where('kind', '=', CONSUMER_MESSAGE_KIND)
      .where('ref_id', '=', refundId)
      .execute();
    const channels = [...(contact.phone ? ['sms'] : []), ...(contact.email ? ['email'] : [])];
    expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'done'));
    expect(rows.map((r) => JSON.parse(r.payload_json).step).sort()).toEqual(
      steps.flatMap((s) => channels.map(() => s)).sort(),
    );
  }

  it('tells an English-speaking consumer of each step once per channel, to the refund', {
    timeout: 60_000,
  }, async () => {
    const contact = { phone: '13800138001', email: 'buyer.en@example.com' };
    const { returnId, refundId, url } = await submitted('en', contact);
    expect(url.startsWith(`${PUBLIC_URL}/t/`)).toBe(true);
    await settled(refundId, 'requested');
    await approve(returnId, refundId);
    await settled(refundId, 'succeeded');
    await expectDelivered(
      'en',
      refundId,
      url,
      ['requested', 'under_review', 'processing', 'succeeded'],
      contact,
    );
    const succeeded = (await delivered()).find((d) => d.body.includes(url) && d.body.includes('reference'));
    expect(succeeded?.body.startsWith(`[${DEMO.merchantName}] Refund ${refundId} (¥128.00) went back`)).toBe(
      true,
    );
  });

  it('tells a zh-TW consumer in traditional Chinese', { timeout: 60_000 }, async () => {
    const contact = { phone: '13800138002', email: 'buyer.tw@example.com' };
    const { returnId, refundId, url } = await submitted('zh-TW', contact);
    await approve(returnId, refundId);
    await settled(refundId, 'succeeded');
    await expectDelivered(
      'zh-TW',
      refundId,
      url,
      ['requested', 'under_review', 'processing', 'succeeded'],
      contact,
    );
    const mine = (await delivered()).filter((d) => d.body.includes(url));
    expect(mine.every((d) => /退款|退貨/.test(d.body) && !/退货|进度|详情/.test(d.body))).toBe(true);
  });

  it('tells of a rejection with the merchant’s note, and nothing after', { timeout: 60_000 }, async () => {
    const contact = { phone: '13800138003' };
    const { returnId, refundId, url } = await submitted('en', contact);
    const rejected = await boss.call('POST', `/v1/returns/${returnId}/inspection`, {
      result: 'rejected',
      note: 'seal broken',
    });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    await settled(refundId, 'rejected');
    await expectDelivered('en', refundId, url, ['requested', 'rejected'], contact);
    const mine = (await delivered()).filter((d) => d.body.includes(url));
    expect(mine.filter((d) => d.body.includes('Your return was not accepted: seal broken.'))).toHaveLength(1);
  });

  it('writes no phone number or e-mail address to the logs in clear', async () => {
    // The runs above were logged; the senders' own lines name the masked address.
    expect(logText).toContain('status message sent');
    for (const clear of [
      '13800138001',
      '13800138002',
      '13800138003',
      'buyer.en@example.com',
      'buyer.tw@example.com',
      'buyer.en',
      'buyer.tw',
    ])
      expect(logText, clear).not.toContain(clear);
    const sentLines = logText
      .split('\n')
      .filter((l) => l.includes('status message sent'))
      .map((l) => JSON.parse(l) as { to: string; channel: string });
    expect(sentLines.length).toBeGreaterThanOrEqual(2 * 4 + 2 * 4 + 2);
    for (const l of sentLines) expect(l.to).toMatch(/\*/);
  });
});
