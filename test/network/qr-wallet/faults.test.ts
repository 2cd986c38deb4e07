/**
 * Exactly once under faults. 40 refunds (each submitted twice at once, as two outbox workers
 * might) go to the wallet while it drops 20 % of connections (half before, half after applying
 * the request), withholds 10 % of answers past the client's timeout, and delays the rest; the
 * merchant retries every unanswered request with the same outRequestNo. Then the faults are
 * cleared and every refund must be SUCCESS or FAIL, each SUCCESS in the wallet's effects exactly
 * once, no FAIL there, the books balanced, and every outcome notified to the merchant.
 * Deterministic fault schedule: replay with QR_FAULT_SEED=<seed>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkUnavailableError } from '../../../src/network/port.js';
import type { QrWalletClient } from '../../../src/network/qr-wallet/client.js';
import { QrWalletError, type RefundResult } from '../../../src/network/qr-wallet/protocol.js';
import { consumer, type Rig, ref, startRig, until } from './support.js';

const SEED = Number(process.env.QR_FAULT_SEED ?? 20240601);
const TRADES = 10;
const REFUNDS_PER_TRADE = 4;
const REFUND_AMOUNT = 2_500;
const MAX_ATTEMPTS = 40;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the outbox does: retry an unanswered call with the same parameters, with back-off, bounded. */
async function withRetry<T>(fn: () => Promise<T>, stats: { retries: number }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof NetworkUnavailableError) || attempt >= MAX_ATTEMPTS) throw err;
      stats.retries++;
      await new Promise((r) => setTimeout(r, Math.min(200, 10 * attempt)));
    }
  }
}

async function inBatches<T, R>(items: T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

describe('QR wallet refunds under network faults', () => {
  let rig: Rig;
  let client: QrWalletClient;
  beforeAll(async () => {
    rig = await startRig({
      refundDelayMs: 100,
      random: mulberry32(SEED),
      timeoutHoldMs: 1_200,
      clientTimeoutMs: 400,
    });
    client = rig.client;
  });
  afterAll(async () => {
    await rig?.close();
  });

  it(`ends every refund SUCCESS or FAIL exactly once (seed ${SEED})`, async () => {
    const buyers = Array.from({ length: TRADES }, () => consumer(rig, 100_000));
    const trades = [];
    for (const b of buyers) {
      trades.push(
        await client.pay({
          outTradeNo: ref('O'),
          authCode: b.authCode,
          totalAmount: 10_000,
          currency: 'CNY',
          subject: 'goods',
        }),
      );
    }
    // Two buyers close their wallet accounts: their refunds must end FAIL, not vanish.
    const closedTrades = new Set([trades[0]?.tradeNo, trades[1]?.tradeNo]);
    rig.sim.ledger.setConsumerStatus(buyers[0]?.userId as string, 'closed');
    rig.sim.ledger.setConsumerStatus(buyers[1]?.userId as string, 'closed');

    const plan = trades.flatMap((t) =>
      Array.from({ length: REFUNDS_PER_TRADE }, () => ({
        tradeNo: t.tradeNo,
        outRequestNo: ref('F'),
        refundAmount: REFUND_AMOUNT,
        refundReason: 'quality_issue',
      })),
    );
    expect(plan).toHaveLength(40);

    Object.assign(rig.faults, { dropRate: 0.2, timeoutRate: 0.1, delayMs: 30 });
    const stats = { retries: 0 };
    const acks = await inBatches(plan, 8, async (body) => {
      const twice = await Promise.all([0, 1].map(() => withRetry(() => client.refund(body), stats)));
      return twice;
    });
    const finals = await inBatches(plan, 8, (body) =>
      until(
        `refund ${body.outRequestNo} final`,
        async () => {
          const r = await withRetry(() => client.queryRefund(body.outRequestNo), stats);
          return r && r.refundStatus !== 'PROCESSING' ? r : null;
        },
        20_000,
      ),
    );
    Object.assign(rig.faults, { dropRate: 0, timeoutRate: 0, delayMs: 0 });

    // The faults really happened, and the wallet really deduplicated applied-but-unanswered requests.
    expect(stats.retries).toBeGreaterThan(5);
    for (const pair of acks) expect(new Set(pair.map((a) => a.refundNo)).size).toBe(1);
    expect(acks.flat().filter((a) => a.fundChange === 'Y').length).toBeLessThan(acks.flat().length);

    const byNo = new Map<string, RefundResult>(finals.map((f) => [f.outRequestNo, f]));
    for (const body of plan) {
      const f = byNo.get(body.outRequestNo);
      expect(f?.refundStatus).toBe(closedTrades.has(body.tradeNo) ? 'FAIL' : 'SUCCESS');
    }
    const succeeded = plan
      .filter((p) => byNo.get(p.outRequestNo)?.refundStatus === 'SUCCESS')
      .map((p) => p.outRequestNo);
    const failed = plan
      .filter((p) => byNo.get(p.outRequestNo)?.refundStatus === 'FAIL')
      .map((p) => p.outRequestNo);
    expect(succeeded).toHaveLength(32);
    expect(failed).toHaveLength(8);

    const refundEffects = rig.sim.ledger.effects().filter((e) => e.kind === 'qr_refund');
    expect(refundEffects.map((e) => e.reference).sort()).toEqual([...succeeded].sort());
    expect(refundEffects.every((e) => e.amount === REFUND_AMOUNT)).toBe(true);
    expect(rig.sim.ledger.audit()).toEqual([]);
    for (const t of trades.slice(2))
      expect((await client.queryTrade({ tradeNo: t.tradeNo })).status).toBe('TRADE_CLOSED');
    for (const b of buyers.slice(2)) expect(rig.sim.ledger.consumerBalance(b.userId)).toBe(100_000);

    // A retry after the end changes nothing, and over-refunding a fully refunded trade is refused.
    const first = plan[8];
    if (!first) throw new Error('plan too short');
    expect((await client.refund(first)).fundChange).toBe('N');
    const over = await client
      .refund({ ...first, outRequestNo: ref('F') })
      .then(() => null)
      .catch((e: unknown) => (e instanceof QrWalletError ? e.code : e));
    expect(over).toBe('REFUND_AMOUNT_INVALID');

    // Every outcome reached the merchant through a verified notification.
    await until(
      'every notification',
      () => plan.every((p) => rig.results.some((r) => r.requestId === p.outRequestNo)),
      15_000,
    );
    for (const p of plan) {
      const r = rig.results.find((x) => x.requestId === p.outRequestNo);
      expect(r?.outcome).toBe(byNo.get(p.outRequestNo)?.refundStatus === 'SUCCESS' ? 'succeeded' : 'failed');
    }
  });
});
