import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSenders } from '../../src/receipts/senders.js';
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

const PAN = testPan('622202100009876');
const EMAIL = 'zhang.sanfeng@example.com';
const PHONE = '13912348765';

interface Mail {
  to: string[];
  text: string;
  html: string;
  subject: string;
}

/** A real SMTP server (smtp-server) that keeps every message it accepts, parsed. */
async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      simpleParser(stream)
        .then((m) => {
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            text: m.text ?? '',
            html: typeof m.html === 'string' ? m.html : '',
            subject: m.subject ?? '',
          });
          done();
        })
        .catch(done);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return { server, port, mails };
}

/** A tiny SMS gateway: POST JSON `{to, text}`. */
async function startSmsGateway(): Promise<{
  server: Server;
  url: string;
  messages: { to: string; text: string }[];
}> {
  const messages: { to: string; text: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      messages.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`, messages };
}

describe.each(storeTargets)('POST /v1/refunds/:id/receipt/send on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let refundId: string;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let sms: Awaited<ReturnType<typeof startSmsGateway>>;

  const counts = async () => ({
    sends: Number(
      (
        await sys.ctx.store.db
          .selectFrom('receipt_sends')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
    outbox: Number(
      (
        await sys.ctx.store.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('kind', '=', 'receipt.send')
          .executeTakeFirstOrThrow()
      ).n,
    ),
  });

  beforeAll(async () => {
    smtp = await startSmtp();
    sms = await startSmsGateway();
    sys = await startTestSystem(await target.freshUrl(), {
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      smsGatewayUrl: sms.url,
      workerBackoffMs: 50,
    });
    cashier = await signIn(sys.base, '01', '1111');
    const p = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('SEND'),
      amount: 12_345,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.body.id,
      amount: 2_345,
      reason: { code: 'other', note: '顾客改变主意' },
      approvals: [supervisor],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    refundId = r.body.id;
    await until(
      async () => (await cashier.call('GET', `/v1/refunds/${refundId}`)).body.status,
      (s) => s === 'succeeded',
    );
  });
  afterAll(async () => {
    await sys?.close();
    await new Promise((r) => smtp?.server.close(() => r(undefined)));
    await new Promise((r) => sms?.server.close(() => r(undefined)));
  });

  it('queues one send per channel, delivers by SMTP and the SMS gateway, and shows them sent, masked', async () => {
    const key = { 'idempotency-key': `send-${refundId}` };
    const printsBefore = await sys.ctx.store.db
      .selectFrom('receipt_prints')
      .selectAll()
      .where('refund_id', '=', refundId)
      .execute();
    const res = await cashier.call(
      'POST',
      `/v1/refunds/${refundId}/receipt/send`,
      { email: EMAIL, phone: PHONE },
      key,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.data).toEqual([
      {
        id: expect.stringMatching(/^rs_/),
        channel: 'email',
        destination: 'z***@example.com',
        status: 'queued',
      },
      { id: expect.stringMatching(/^rs_/), channel: 'sms', destination: '139****8765', status: 'queued' },
    ]);
    expect(JSON.stringify(res.body)).not.toContain(PHONE);

    const list = await until(
      async () => (await cashier.call('GET', `/v1/refunds/${refundId}/receipt/sends`)).body.data,
      (d: { status: string; channel: string; destination: string }[]) =>
        d.length === 2 && d.every((s) => s.status === 'sent'),
    );
    expect(list.map((s) => [s.channel, s.destination])).toEqual([
      ['email', 'z***@example.com'],
      ['sms', '139****8765'],
    ]);
    expect(JSON.stringify(list)).not.toContain(EMAIL);

    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0] as Mail;
    expect(mail.to).toEqual([EMAIL]);
    expect(mail.subject).toContain(refundId);
    expect(mail.text).toContain('退款金额');
    expect(mail.text).toContain('¥23.45');
    expect(mail.html).toContain('¥23.45');
    expect(mail.text).not.toContain('REPRINT');
    expect(sms.messages).toHaveLength(1);
    expect(sms.messages[0]?.to).toBe(PHONE);
    expect(sms.messages[0]?.text).toContain('退款金额');
    expect(sms.messages[0]?.text).toContain('¥23.45');

    // A send is not a print: no print was counted.
    const printsAfter = await sys.ctx.store.db
      .selectFrom('receipt_prints')
      .selectAll()
      .where('refund_id', '=', refundId)
      .execute();
    expect(printsAfter).toHaveLength(printsBefore.length);

    // No plaintext destination anywhere in the rows, the outbox or the audit chain.
    const rows = await sys.ctx.store.db.selectFrom('receipt_sends').selectAll().execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.destination_enc).toMatch(/^v2\.k1\./);
      expect(row.status).toBe('sent');
      expect(row.sent_at).not.toBeNull();
    }
    const outbox = await sys.ctx.store.db
      .selectFrom('outbox')
      .selectAll()
      .where('kind', '=', 'receipt.send')
      .execute();
    expect(outbox.map((o) => o.status)).toEqual(['done', 'done']);
    const audit = await sys.ctx.store.db.selectFrom('audit_log').selectAll().execute();
    const everything = JSON.stringify([rows, outbox, audit]);
    expect(everything).not.toContain(EMAIL);
    expect(everything).not.toContain(PHONE);
    expect(everything).toContain('139****8765');

    // The same Idempotency-Key again: the same answer, nothing new queued or sent.
    const again = await cashier.call(
      'POST',
      `/v1/refunds/${refundId}/receipt/send`,
      { email: EMAIL, phone: PHONE },
      key,
    );
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(res.body);
    expect(await counts()).toEqual({ sends: 2, outbox: 2 });
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.mails).toHaveLength(1);
    expect(sms.messages).toHaveLength(1);
  });

  it('answers bad input with 400 problem+json and writes nothing', async () => {
    const before = await counts();
    for (const body of [{}, { email: 'not-an-email' }, { phone: '12ab' }, { email: EMAIL, fax: '1' }]) {
      const res = await cashier.call('POST', `/v1/refunds/${refundId}/receipt/send`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('validation_failed');
    }
    const missing = await cashier.call('POST', '/v1/refunds/rf_missing/receipt/send', { phone: PHONE });
    expect(missing.status).toBe(404);
    expect(await counts()).toEqual(before);
  });

  it('needs a signed-in caller', async () => {
    const res = await fetch(`${sys.base}/v1/refunds/${refundId}/receipt/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: PHONE }),
    });
    expect(res.status).toBe(401);
  });
});

describe('voucher senders without SMTP_URL or SMS_GATEWAY_URL', () => {
  it('write a real .eml under DATA_DIR/mail/ and one JSON line per SMS to DATA_DIR/sms.log', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'refund-desk-senders-'));
    const senders = makeSenders({
      dataDir,
      smtpUrl: undefined,
      mailFrom: 'desk@example.com',
      smsGatewayUrl: undefined,
    });
    expect(senders.describe).toContain(join(dataDir, 'mail'));
    await senders.email(EMAIL, '退款凭证 rf_1', '退款金额 ¥1.00', '<p>退款金额 ¥1.00</p>');
    await senders.sms(PHONE, '退款金额 ¥1.00');
    const files = readdirSync(join(dataDir, 'mail'));
    expect(files).toHaveLength(1);
    const mail = await simpleParser(readFileSync(join(dataDir, 'mail', files[0] as string)));
    expect(mail.subject).toBe('退款凭证 rf_1');
    expect(mail.text).toContain('退款金额 ¥1.00');
    const lines = readFileSync(join(dataDir, 'sms.log'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { at: expect.any(String), to: PHONE, text: '退款金额 ¥1.00' },
    ]);
  });
});
