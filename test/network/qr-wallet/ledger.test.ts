/**
 * The wallet's books on a real SQLite file: a failure in the middle of an operation leaves
 * nothing half-done, and a restart (a new process opening the same file) resumes where it was.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateKeyPair, merchantKeyPair, walletKeyPair } from '../../../src/network/qr-wallet/keys.js';
import { signParams, verifyParams } from '../../../src/network/qr-wallet/protocol.js';
import { QrLedger } from '../../../src/simulator/qr-wallet/ledger.js';

const M = '898100000000001';
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'qr-ledger-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function seeded(path: string, clock: () => Date) {
  const ledger = new QrLedger({ path, clock });
  ledger.openConsumer({ userId: 'u1', authCode: '280000000000000001', balanceMinor: 50_000 });
  ledger.openMerchant(M, 10_000);
  return ledger;
}

describe('QR wallet ledger', () => {
  it('leaves no half effect when finishing a refund fails midway, and finishes it once the fault is gone', () => {
    let now = Date.parse('2025-03-01T08:00:00Z');
    const ledger = seeded(join(tempDir(), 'w.db'), () => new Date(now));
    const trade = ledger.pay(M, {
      outTradeNo: 'o1',
      authCode: '280000000000000001',
      totalAmount: 8_000,
      currency: 'CNY',
      subject: 's',
    });
    ledger.refund(
      M,
      { tradeNo: trade.tradeNo, outRequestNo: 'r1', refundAmount: 8_000, refundReason: 'quality_issue' },
      1_000,
    );
    const merchantBefore = ledger.merchantBalance(M);
    now += 2_000;
    // The last write of the finishing transaction (the effect row) fails, as a full disk would.
    ledger.db.exec(
      "create trigger boom before insert on qr_effects when new.kind = 'qr_refund' begin select raise(abort, 'disk full'); end",
    );
    expect(() => ledger.finishDueRefunds()).toThrow(/disk full/);
    expect(ledger.queryRefund.bind(ledger, M, 'r1')).toThrow(/disk full/);
    expect(ledger.consumerBalance('u1')).toBe(42_000);
    expect(ledger.merchantBalance(M)).toEqual(merchantBefore);
    expect(ledger.dueNotifications()).toEqual([]);
    expect(ledger.audit()).toEqual([]);
    ledger.db.exec('drop trigger boom');
    expect(ledger.finishDueRefunds().map((r) => r.refundStatus)).toEqual(['SUCCESS']);
    expect(ledger.consumerBalance('u1')).toBe(50_000);
    expect(ledger.audit()).toEqual([]);
    ledger.close();
  });

  it('keeps refunds, effects and owed notifications across a restart', () => {
    let now = Date.parse('2025-03-01T08:00:00Z');
    const clock = () => new Date(now);
    const path = join(tempDir(), 'w.db');
    const first = seeded(path, clock);
    const trade = first.pay(M, {
      outTradeNo: 'o1',
      authCode: '280000000000000001',
      totalAmount: 5_000,
      currency: 'CNY',
      subject: 's',
    });
    first.refund(
      M,
      { tradeNo: trade.tradeNo, outRequestNo: 'r1', refundAmount: 2_000, refundReason: 'q' },
      500,
    );
    first.close();

    now += 1_000;
    const second = new QrLedger({ path, clock });
    expect(second.finishDueRefunds().map((r) => r.outRequestNo)).toEqual(['r1']);
    expect(second.dueNotifications().map((n) => n.payload.outRequestNo)).toEqual(['r1']);
    expect(
      second.refund(
        M,
        { tradeNo: trade.tradeNo, outRequestNo: 'r1', refundAmount: 2_000, refundReason: 'q' },
        500,
      ),
    ).toMatchObject({
      refundStatus: 'SUCCESS',
      fundChange: 'N',
    });
    expect(second.effects().map((e) => [e.kind, e.reference])).toEqual([
      ['qr_sale', trade.tradeNo],
      ['qr_refund', 'r1'],
    ]);
    expect(second.effects(new Date(now).toISOString()).map((e) => e.reference)).toEqual(['r1']);
    second.close();
  });

  it('gives the fee back pro rata, the last refund taking the rounding remainder', () => {
    let now = Date.parse('2025-03-01T08:00:00Z');
    const ledger = seeded(':memory:', () => new Date(now));
    // 38 bp of 9,999 = 37 fen.
    const trade = ledger.pay(M, {
      outTradeNo: 'o1',
      authCode: '280000000000000001',
      totalAmount: 9_999,
      currency: 'CNY',
      subject: 's',
    });
    const backs = [3_333, 3_333, 3_333].map(
      (amount, i) =>
        ledger.refund(
          M,
          { tradeNo: trade.tradeNo, outRequestNo: `r${i}`, refundAmount: amount, refundReason: 'q' },
          0,
        ).feeReturned,
    );
    expect(backs).toEqual([12, 12, 13]);
    now += 1;
    ledger.finishDueRefunds();
    expect(ledger.merchantBalance(M).balanceMinor).toBe(10_000);
    expect(ledger.audit()).toEqual([]);
  });
});

describe('QR wallet keys', () => {
  it('creates an RSA-2048 pair on first use with a private key only its owner can read, and loads the same pair after', () => {
    const dir = join(tempDir(), 'keys');
    const wallet = walletKeyPair(dir);
    expect(statSync(join(dir, 'wallet.key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'wallet.pub.pem')).mode & 0o777).toBe(0o644);
    expect(wallet.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const again = walletKeyPair(dir);
    expect(again.publicKeyPem).toBe(wallet.publicKeyPem);
    const merchant = merchantKeyPair(dir, M);
    expect(merchant.publicKeyPem).not.toBe(wallet.publicKeyPem);
    const params = { method: 'trade.refund', bizContent: { refundAmount: 1 }, signType: 'RSA2' };
    expect(
      verifyParams({ ...params, sign: signParams(params, again.privateKeyPem) }, wallet.publicKeyPem),
    ).toBe(true);
  });

  it('refuses a private key file readable by others, and names it must be safe', () => {
    const dir = join(tempDir(), 'keys');
    loadOrCreateKeyPair(dir, 'wallet');
    chmodSync(join(dir, 'wallet.key.pem'), 0o644);
    expect(() => loadOrCreateKeyPair(dir, 'wallet')).toThrow(/chmod 600/);
    expect(() => loadOrCreateKeyPair(dir, '../etc/passwd')).toThrow(/key name/);
  });
});
