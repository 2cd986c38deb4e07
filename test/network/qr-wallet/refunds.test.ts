/**
 * The QR wallet path end to end over real HTTP: the wallet simulator (Fastify on 127.0.0.1:0,
 * its own SQLite ledger) and the merchant's notify route on a second real server, driven by
 * QrWalletClient / QrWalletPort. Modelled on Alipay trade.refund and WeChat Pay refunds:
 * partial refunds, idempotency by outRequestNo, refund query, signed notifications, 365-day window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkUnavailableError } from '../../../src/network/port.js';
import { QrAnswerRejectedError, QrWalletClient } from '../../../src/network/qr-wallet/client.js';
import { generateRsaKeyPair } from '../../../src/network/qr-wallet/keys.js';
import { QR_NOTIFY_PATH } from '../../../src/network/qr-wallet/notify-route.js';
import { QrWalletError, type RefundNotification } from '../../../src/network/qr-wallet/protocol.js';
import {
  consumer,
  DAY_MS,
  finalRefund,
  MERCHANT,
  OTHER_MERCHANT,
  type Rig,
  ref,
  startRig,
  until,
} from './support.js';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof QrWalletError) return err.code;
    throw err;
  }
  throw new Error('expected the wallet to refuse');
}

describe('QR wallet refunds over HTTP', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ refundDelayMs: 200 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  async function paid(amount: number, who = consumer(rig), client = rig.client) {
    return client.pay({
      outTradeNo: ref('O'),
      authCode: who.authCode,
      totalAmount: amount,
      currency: 'CNY',
      subject: 'test goods',
      terminalId: 'T0000001',
    });
  }

  it('pays, refunds in parts down to zero, and refuses a refund past the remainder', async () => {
    const buyer = consumer(rig, 50_000);
    const before = rig.sim.ledger.merchantBalance(MERCHANT).balanceMinor;
    const trade = await paid(10_000, buyer);
    expect(trade.status).toBe('TRADE_SUCCESS');
    expect(rig.sim.ledger.consumerBalance(buyer.userId)).toBe(40_000);

    const r1 = await rig.client.refund({
      tradeNo: trade.tradeNo,
      outRequestNo: ref('R'),
      refundAmount: 3_000,
      refundReason: 'quality_issue',
    });
    expect(r1).toMatchObject({ refundStatus: 'PROCESSING', fundChange: 'Y', refundAmount: 3_000 });
    // A refund in flight counts against the remainder: 7,001 would exceed it.
    expect(
      await refusal(
        rig.client.refund({
          tradeNo: trade.tradeNo,
          outRequestNo: ref('R'),
          refundAmount: 7_001,
          refundReason: 'x',
        }),
      ),
    ).toBe('REFUND_AMOUNT_INVALID');
    expect((await finalRefund(rig.client, r1.outRequestNo)).refundStatus).toBe('SUCCESS');

    const r2 = await rig.client.refund({
      outTradeNo: trade.outTradeNo,
      outRequestNo: ref('R'),
      refundAmount: 2_000,
      refundReason: 'quality_issue',
    });
    expect((await finalRefund(rig.client, r2.outRequestNo)).refundFee).toBe(5_000);
    const r3 = await rig.client.refund({
      tradeNo: trade.tradeNo,
      outRequestNo: ref('R'),
      refundAmount: 5_000,
      refundReason: 'quality_issue',
    });
    const last = await finalRefund(rig.client, r3.outRequestNo);
    expect(last).toMatchObject({ refundStatus: 'SUCCESS', refundFee: 10_000 });

    expect(
      await refusal(
        rig.client.refund({
          tradeNo: trade.tradeNo,
          outRequestNo: ref('R'),
          refundAmount: 1,
          refundReason: 'x',
        }),
      ),
    ).toBe('REFUND_AMOUNT_INVALID');
    const closed = await rig.client.queryTrade({ tradeNo: trade.tradeNo });
    expect(closed).toMatchObject({ status: 'TRADE_CLOSED', refundedAmount: 10_000 });
    expect(rig.sim.ledger.consumerBalance(buyer.userId)).toBe(50_000);
    // The fee (38 bp of 10,000 = 38) came back in parts, so the merchant is back where it started.
    expect(rig.sim.ledger.merchantBalance(MERCHANT).balanceMinor).toBe(before);
    const mine = rig.sim.ledger
      .effects()
      .filter((e) =>
        [trade.tradeNo, r1.outRequestNo, r2.outRequestNo, r3.outRequestNo].includes(e.reference),
      );
    expect(mine.map((e) => [e.kind, e.amount])).toEqual([
      ['qr_sale', 10_000],
      ['qr_refund', 3_000],
      ['qr_refund', 2_000],
      ['qr_refund', 5_000],
    ]);
    expect(rig.sim.ledger.audit()).toEqual([]);
  });

  it('answers the same outRequestNo with the same refund and moves the money once', async () => {
    const trade = await paid(8_000);
    const outRequestNo = ref('R');
    const body = {
      tradeNo: trade.tradeNo,
      outRequestNo,
      refundAmount: 4_000,
      refundReason: 'duplicate_payment',
    };
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => rig.client.refund(body)));
    expect(new Set(answers.map((a) => a.refundNo)).size).toBe(1);
    expect(answers.filter((a) => a.fundChange === 'Y')).toHaveLength(1);
    await finalRefund(rig.client, outRequestNo);
    const again = await rig.client.refund(body);
    expect(again).toMatchObject({ refundStatus: 'SUCCESS', fundChange: 'N', refundNo: answers[0]?.refundNo });
    expect(
      rig.sim.ledger.effects().filter((e) => e.kind === 'qr_refund' && e.reference === outRequestNo),
    ).toHaveLength(1);
    expect((await rig.client.queryTrade({ tradeNo: trade.tradeNo })).refundedAmount).toBe(4_000);
  });

  it('refuses the same outRequestNo for another amount or another trade', async () => {
    const a = await paid(5_000);
    const b = await paid(5_000);
    const outRequestNo = ref('R');
    await rig.client.refund({
      tradeNo: a.tradeNo,
      outRequestNo,
      refundAmount: 1_000,
      refundReason: 'other: scratched',
    });
    expect(
      await refusal(
        rig.client.refund({ tradeNo: a.tradeNo, outRequestNo, refundAmount: 1_001, refundReason: 'x' }),
      ),
    ).toBe('OUT_REQUEST_NO_REUSED');
    expect(
      await refusal(
        rig.client.refund({ tradeNo: b.tradeNo, outRequestNo, refundAmount: 1_000, refundReason: 'x' }),
      ),
    ).toBe('OUT_REQUEST_NO_REUSED');
    expect((await finalRefund(rig.client, outRequestNo)).refundAmount).toBe(1_000);
  });

  it('reports a refund through trade.refund.query: PROCESSING, then SUCCESS; an unknown number is null', async () => {
    const trade = await paid(3_000);
    const outRequestNo = ref('R');
    await rig.client.refund({
      tradeNo: trade.tradeNo,
      outRequestNo,
      refundAmount: 3_000,
      refundReason: 'expired_goods',
    });
    expect((await rig.client.queryRefund(outRequestNo))?.refundStatus).toBe('PROCESSING');
    const done = await finalRefund(rig.client, outRequestNo);
    expect(done).toMatchObject({ refundStatus: 'SUCCESS', tradeNo: trade.tradeNo, refundAmount: 3_000 });
    expect(done.gmtRefund).toBeDefined();
    expect(await rig.client.queryRefund(ref('NOPE'))).toBeNull();
    expect(await rig.port.queryRefund(outRequestNo)).toEqual({
      requestId: outRequestNo,
      reference: done.refundNo,
      outcome: 'succeeded',
      responseCode: '00',
    });
  });

  it('notifies the merchant with a signed result it verifies; a tampered notification is rejected', async () => {
    const trade = await paid(6_000);
    const outRequestNo = ref('R');
    const ack = await rig.port.submitRefund({
      requestId: outRequestNo,
      merchantId: MERCHANT,
      terminalId: 'T0000001',
      method: 'qr',
      originalReference: trade.tradeNo,
      amountMinor: 2_500,
      currency: 'CNY',
      reason: { code: 'quality_issue', note: null },
    });
    expect(ack.kind).toBe('accepted');
    const result = await until('the notification', () =>
      rig.results.find((r) => r.requestId === outRequestNo),
    );
    expect(result).toMatchObject({ outcome: 'succeeded', responseCode: '00' });
    const body = rig.bodies.find(
      (b) => (b as RefundNotification).outRequestNo === outRequestNo,
    ) as RefundNotification;
    expect(rig.client.verifyNotification(body)).toMatchObject({
      outRequestNo,
      tradeNo: trade.tradeNo,
      status: 'SUCCESS',
      amount: 2_500,
    });

    const url = rig.sim.notifyUrls.get(MERCHANT) as string;
    const post = (b: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(b),
      });
    const applied = rig.results.length;
    for (const forged of [
      { ...body, refundAmount: 250_000 },
      { ...body, refundStatus: 'FAIL' },
      { ...body, outRequestNo: ref('R') },
      { ...body, sign: body.sign.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) },
    ]) {
      const res = await post(forged);
      expect(res.status).toBe(400);
      expect(await res.text()).toBe('fail');
      expect(() => rig.client.verifyNotification(forged)).toThrow(QrWalletError);
    }
    expect(rig.results.length).toBe(applied);
    // A redelivery of the genuine one is acknowledged again (the handler must be idempotent).
    const again = await post(body);
    expect(await again.text()).toBe('success');
  });

  it('redelivers a notification until the merchant has applied it', async () => {
    const trade = await paid(2_000);
    const outRequestNo = ref('R');
    rig.failNextNotifications(2);
    await rig.client.refund({
      tradeNo: trade.tradeNo,
      outRequestNo,
      refundAmount: 2_000,
      refundReason: 'quality_issue',
    });
    await until(
      'the redelivered notification',
      () => rig.results.find((r) => r.requestId === outRequestNo),
      15_000,
    );
    // The wallet records the delivery once the merchant's `success` answer is back.
    const state = await until('the delivery to be recorded', () => {
      const s = rig.sim.ledger.notificationState(MERCHANT, outRequestNo);
      return s?.deliveredAt ? s : null;
    });
    expect(state.attempts).toBe(3);
    expect(rig.results.filter((r) => r.requestId === outRequestNo)).toHaveLength(1);
  });

  it('refuses refunds past the 365-day window counted from the trade', async () => {
    const trade = await paid(4_000);
    try {
      rig.setClockOffsetMs(364 * DAY_MS);
      const ok = await rig.client.refund({
        tradeNo: trade.tradeNo,
        outRequestNo: ref('R'),
        refundAmount: 1_000,
        refundReason: 'quality_issue',
      });
      expect(ok.refundStatus).toBe('PROCESSING');
      rig.setClockOffsetMs(366 * DAY_MS);
      expect(
        await refusal(
          rig.client.refund({
            tradeNo: trade.tradeNo,
            outRequestNo: ref('R'),
            refundAmount: 1_000,
            refundReason: 'quality_issue',
          }),
        ),
      ).toBe('TRADE_HAS_FINISHED');
      expect((await rig.client.queryTrade({ tradeNo: trade.tradeNo })).status).toBe('TRADE_FINISHED');
      await finalRefund(rig.client, ok.outRequestNo);
    } finally {
      rig.setClockOffsetMs(0);
    }
  });

  it("refuses a refund the merchant's balance cannot cover, records nothing, and takes the same number once funded", async () => {
    const other = rig.sim.client(OTHER_MERCHANT);
    const trade = await paid(10_000, consumer(rig), other);
    rig.sim.ledger.payOutMerchant(
      OTHER_MERCHANT,
      rig.sim.ledger.merchantBalance(OTHER_MERCHANT).availableMinor,
    );
    const body = {
      tradeNo: trade.tradeNo,
      outRequestNo: ref('R'),
      refundAmount: 5_000,
      refundReason: 'quality_issue',
    };
    expect(await refusal(other.refund(body))).toBe('SELLER_BALANCE_NOT_ENOUGH');
    expect(await other.queryRefund(body.outRequestNo)).toBeNull();
    rig.sim.ledger.fundMerchant(OTHER_MERCHANT, 100_000);
    expect((await other.refund(body)).fundChange).toBe('Y');
    expect((await finalRefund(other, body.outRequestNo)).refundStatus).toBe('SUCCESS');
    expect(rig.sim.ledger.audit()).toEqual([]);
  });

  it('requires a refund reason', async () => {
    const trade = await paid(1_000);
    expect(
      await refusal(
        rig.client.refund({
          tradeNo: trade.tradeNo,
          outRequestNo: ref('R'),
          refundAmount: 1_000,
          refundReason: '  ',
        }),
      ),
    ).toBe('REFUND_REASON_REQUIRED');
  });

  it('refuses a refund of an unknown trade, and the port declines it with 25', async () => {
    expect(
      await refusal(
        rig.client.refund({
          tradeNo: '20990101220000000000000001',
          outRequestNo: ref('R'),
          refundAmount: 1,
          refundReason: 'x',
        }),
      ),
    ).toBe('TRADE_NOT_EXIST');
    const ack = await rig.port.submitRefund({
      requestId: ref('R'),
      merchantId: MERCHANT,
      terminalId: null,
      method: 'qr',
      originalReference: '20990101220000000000000001',
      amountMinor: 100,
      currency: 'CNY',
      reason: { code: 'quality_issue', note: null },
    });
    expect(ack).toEqual({ kind: 'declined', reference: null, responseCode: '25' });
  });

  it("fails a refund whose consumer account was closed meanwhile, releasing the merchant's hold", async () => {
    const buyer = consumer(rig);
    const trade = await paid(7_000, buyer);
    const available = rig.sim.ledger.merchantBalance(MERCHANT).availableMinor;
    const outRequestNo = ref('R');
    rig.sim.ledger.setConsumerStatus(buyer.userId, 'closed');
    await rig.client.refund({
      tradeNo: trade.tradeNo,
      outRequestNo,
      refundAmount: 7_000,
      refundReason: 'quality_issue',
    });
    expect(rig.sim.ledger.merchantBalance(MERCHANT).availableMinor).toBeLessThan(available);
    const done = await finalRefund(rig.client, outRequestNo);
    expect(done).toMatchObject({ refundStatus: 'FAIL', failCode: 'BUYER_ACCOUNT_ABNORMAL', refundFee: 0 });
    expect(rig.sim.ledger.merchantBalance(MERCHANT).availableMinor).toBe(available);
    expect(rig.sim.ledger.effects().some((e) => e.reference === outRequestNo)).toBe(false);
    const result = await until('the FAIL notification', () =>
      rig.results.find((r) => r.requestId === outRequestNo),
    );
    expect(result).toMatchObject({ outcome: 'failed', responseCode: '57' });
  });

  it('takes QR sales through the port with the demo payment code, voids them, and refuses refunds of a voided sale', async () => {
    const requestId = ref('pay_');
    const sale = await rig.port.authorizeSale({
      requestId,
      merchantId: MERCHANT,
      terminalId: 'T0000002',
      orderNo: ref('ORD'),
      amountMinor: 1_234,
      currency: 'CNY',
      method: 'qr',
    });
    expect(sale).toMatchObject({ approved: true, responseCode: '00' });
    const again = await rig.port.authorizeSale({
      requestId,
      merchantId: MERCHANT,
      terminalId: 'T0000002',
      orderNo: 'x',
      amountMinor: 1_234,
      currency: 'CNY',
      method: 'qr',
    });
    expect(again.reference).toBe(sale.reference);
    const voided = await rig.port.voidSale({
      requestId: `void_${requestId}`,
      merchantId: MERCHANT,
      terminalId: 'T0000002',
      method: 'qr',
      originalReference: sale.reference,
      amountMinor: 1_234,
      currency: 'CNY',
    });
    expect(voided).toEqual({ approved: true, responseCode: '00' });
    expect(rig.sim.ledger.effects().some((e) => e.reference === sale.reference)).toBe(false);
    expect(
      rig.sim.ledger.effects(undefined, { includeReversed: true }).find((e) => e.reference === sale.reference)
        ?.reversedAt,
    ).toBeTruthy();
    expect(
      await refusal(
        rig.client.refund({
          tradeNo: sale.reference,
          outRequestNo: ref('R'),
          refundAmount: 1,
          refundReason: 'x',
        }),
      ),
    ).toBe('TRADE_STATUS_ERROR');
    expect(rig.sim.ledger.audit()).toEqual([]);
  });

  it('reverses an unanswered sale: the order is closed, and the late payment is refused', async () => {
    const requestId = ref('pay_');
    expect(await rig.port.reverseSale({ requestId, merchantId: MERCHANT })).toBe('close');
    const late = await rig.port.authorizeSale({
      requestId,
      merchantId: MERCHANT,
      terminalId: null,
      orderNo: 'late',
      amountMinor: 500,
      currency: 'CNY',
      method: 'qr',
    });
    expect(late).toMatchObject({ approved: false, responseCode: '25' });
  });

  it("closes a terminal's QR batch with the wallet's totals, the same again for the same batch", async () => {
    const terminalId = ref('T');
    const buyer = consumer(rig);
    const pay = (amount: number) =>
      rig.client.pay({
        outTradeNo: ref('O'),
        authCode: buyer.authCode,
        totalAmount: amount,
        currency: 'CNY',
        subject: 's',
        terminalId,
      });
    const t1 = await pay(1_000);
    await pay(2_000);
    const t3 = await pay(4_000);
    await rig.client.cancel({ tradeNo: t3.tradeNo });
    const r = await rig.client.refund({
      tradeNo: t1.tradeNo,
      outRequestNo: ref('R'),
      refundAmount: 300,
      refundReason: 'q',
      terminalId,
    });
    await finalRefund(rig.client, r.outRequestNo);
    const local = {
      sales: { count: 2, amountMinor: 3_000 },
      refunds: { count: 1, amountMinor: 300 },
      voids: { count: 1, amountMinor: 4_000 },
    };
    const totals = await rig.port.settle({ merchantId: MERCHANT, terminalId, batchNo: 7, local });
    expect(totals).toEqual(local);
    expect(await rig.port.settle({ merchantId: MERCHANT, terminalId, batchNo: 7, local })).toEqual(local);
    const next = await rig.port.settle({ merchantId: MERCHANT, terminalId, batchNo: 8, local });
    expect(next.sales.count + next.refunds.count + next.voids.count).toBe(0);
    expect(await refusal(rig.client.cancel({ tradeNo: t1.tradeNo }))).toBe('TRADE_CANCEL_NOT_ALLOWED');
  });

  it('answers SYSTEM_ERROR without applying anything while the issuer is down', async () => {
    const trade = await paid(1_000);
    const outRequestNo = ref('R');
    rig.faults.issuerDown = true;
    try {
      await expect(
        rig.client.refund({ tradeNo: trade.tradeNo, outRequestNo, refundAmount: 1_000, refundReason: 'q' }),
      ).rejects.toBeInstanceOf(NetworkUnavailableError);
      expect(await rig.port.echo()).toBe(false);
    } finally {
      rig.faults.issuerDown = false;
    }
    expect(await rig.client.queryRefund(outRequestNo)).toBeNull();
    expect(await rig.port.echo()).toBe(true);
  });

  it("refuses a request not signed with the merchant's key, and distrusts an answer not signed with the wallet's", async () => {
    const trade = await paid(2_000);
    const stranger = generateRsaKeyPair();
    const opts = {
      gatewayUrl: rig.sim.gatewayUrl,
      appId: 'app',
      merchantId: MERCHANT,
      merchantPrivateKey: rig.sim.merchantKeys.get(MERCHANT)?.privateKey ?? '',
      walletPublicKey: rig.sim.walletKeys.publicKey,
      timeoutMs: 5_000,
    };
    const body = { tradeNo: trade.tradeNo, outRequestNo: ref('R'), refundAmount: 500, refundReason: 'q' };
    const forger = new QrWalletClient({ ...opts, merchantPrivateKey: stranger.privateKey });
    expect(await refusal(forger.refund(body))).toBe('INVALID_SIGNATURE');
    expect(await rig.client.queryRefund(body.outRequestNo)).toBeNull();

    // The wallet applies the refund, but the answer does not verify under the key we expect:
    // it counts as no answer, and the retry with the right key gets the same refund back.
    const misled = new QrWalletClient({ ...opts, walletPublicKey: stranger.publicKey });
    const err = await misled.refund(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QrAnswerRejectedError);
    expect(err).toBeInstanceOf(NetworkUnavailableError);
    expect((await rig.client.refund(body)).fundChange).toBe('N');

    const skewed = new QrWalletClient({ ...opts, clock: () => new Date(Date.now() - 10 * 60_000) });
    expect(await refusal(skewed.queryTrade({ tradeNo: trade.tradeNo }))).toBe('INVALID_TIMESTAMP');
  });

  it('answers a malformed request with a signed INVALID_PARAMETER and no notify route needs a bearer token', async () => {
    const res = await fetch(rig.sim.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"method":',
    });
    expect(await res.json()).toMatchObject({ code: '40002', subCode: 'INVALID_PARAMETER' });
    const notify = await fetch(
      `${rig.sim.notifyUrls.get(MERCHANT)?.replace(QR_NOTIFY_PATH, '')}${QR_NOTIFY_PATH}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      },
    );
    expect(notify.status).toBe(400);
  });
});
