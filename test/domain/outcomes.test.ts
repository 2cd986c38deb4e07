import { describe, expect, it } from 'vitest';
import {
  DELAYED_CODE,
  explainOutcome,
  knownOutcome,
  listOutcomes,
  type Outcome,
  outcomeFor,
  outcomeLanguages,
} from '../../src/domain/outcomes.js';
import { refundStatuses } from '../../src/domain/refund-state.js';
import { NO_ANSWER_CODE } from '../../src/network/card-link/adapter.js';
import { MAC_REJECTED, SIGN_IN_AGAIN } from '../../src/network/card-link/wire.js';
import { responseCodes } from '../../src/network/port.js';
import { walletResponseCodes } from '../../src/network/qr-wallet/client.js';
import { MIN_OTHER_NOTE_LENGTH } from '../../src/simulator/review.js';

/** Characters that exist only in Simplified Chinese: none may appear in a zh-TW text. */
const SIMPLIFIED_ONLY = [
  ...'户账帐资银发终网络订单凭证额还无处应码统联钱错误这没经时请选写过异变动数结对认务试为让会个说从与机构号签钥验报换问询进开关间长标记确则见详细币实际内货',
];

const simplifiedIn = (text: string) => SIMPLIFIED_ONLY.filter((c) => text.includes(c));

const networkCodes = [
  ...Object.values(responseCodes),
  NO_ANSWER_CODE,
  MAC_REJECTED,
  SIGN_IN_AGAIN,
  '03', // invalid merchant, from the card host
  ...Object.values(walletResponseCodes),
];

function texts(o: Outcome): string[] {
  return outcomeLanguages.flatMap((l) => [o.message[l], o.fix[l]]);
}

describe('outcomes for people (seed 004)', () => {
  it('has its own entry for every code the adapters report, QR wallet codes included', () => {
    for (const code of new Set(networkCodes)) {
      expect(knownOutcome(code), `no entry for ${code}`).toBeDefined();
    }
    // The wallet client maps every wallet error to an ISO code: none reaches a refund verbatim.
    for (const iso of Object.values(walletResponseCodes)) expect(iso).toMatch(/^[0-9A-Z]{2}$/);
  });

  it('gives every entry a message and a fix in zh-CN, zh-TW and en', () => {
    const all = listOutcomes();
    expect(all.map((o) => o.code)).toEqual(expect.arrayContaining([...new Set(networkCodes), DELAYED_CODE]));
    expect(new Set(all.map((o) => o.code)).size).toBe(all.length);
    for (const o of all) {
      for (const l of outcomeLanguages) {
        expect(o.message[l].trim().length, `${o.code} message ${l}`).toBeGreaterThan(5);
        expect(o.fix[l].trim().length, `${o.code} fix ${l}`).toBeGreaterThan(5);
      }
      expect(o.message['zh-CN']).not.toBe(o.message.en);
      expect(o.fix['zh-CN']).not.toBe(o.fix.en);
    }
  });

  it('writes zh-TW in Traditional characters, not the Simplified text again', () => {
    const samples = [...listOutcomes(), outcomeFor('X9'), explainOutcome('91', 'failed') as Outcome];
    for (const o of samples) {
      for (const part of ['message', 'fix'] as const) {
        expect(simplifiedIn(o[part]['zh-TW']), `${o.code} ${part} zh-TW`).toEqual([]);
        if (simplifiedIn(o[part]['zh-CN']).length > 0) expect(o[part]['zh-TW']).not.toBe(o[part]['zh-CN']);
      }
    }
    expect(outcomeFor('51').message['zh-TW']).toContain('商戶資金不足');
    expect(outcomeFor('51').message['zh-CN']).toContain('商户资金不足');
  });

  it("uses the seed's terms for failures and delays", () => {
    expect(outcomeFor('13').message['zh-CN']).toContain('退款金额超限');
    expect(outcomeFor('25').message['zh-CN']).toContain('原交易未完成');
    expect(outcomeFor('57').message['zh-CN']).toContain('退款原因不符规定');
    expect(outcomeFor('51').message['zh-CN']).toContain('商户资金不足');
    expect(outcomeFor('96').message['zh-CN']).toContain('银联系统繁忙');
    expect(outcomeFor('91').message['zh-CN']).toContain('发卡行处理故障');
    expect(outcomeFor(DELAYED_CODE).message['zh-CN']).toContain('退款延迟');
  });

  it('says what to do: refund at most the refundable amount, top up, describe the reason', () => {
    expect(outcomeFor('13').fix.en).toMatch(/refundable amount and refund at most that/);
    expect(outcomeFor('51').fix.en).toMatch(/top up the merchant settlement account/i);
    // The fix for 57 names the scheme's minimum note length.
    expect(outcomeFor('57').fix.en).toContain(`at least ${MIN_OTHER_NOTE_LENGTH} characters`);
    expect(outcomeFor('57').fix['zh-CN']).toContain(`至少 ${MIN_OTHER_NOTE_LENGTH} 个字`);
  });

  it('classifies 00 as success, busy scheme and issuer faults as delays, no answer as failure', () => {
    expect(outcomeFor('00').kind).toBe('success');
    expect(outcomeFor('91').kind).toBe('delay');
    expect(outcomeFor('96').kind).toBe('delay');
    expect(outcomeFor(MAC_REJECTED).kind).toBe('delay');
    expect(outcomeFor(SIGN_IN_AGAIN).kind).toBe('delay');
    expect(outcomeFor(NO_ANSWER_CODE).kind).toBe('failure');
    for (const code of ['03', '12', '13', '25', '51', '57']) expect(outcomeFor(code).kind).toBe('failure');
  });

  it('gives an unknown code a generic failure that names the code in every language', () => {
    const o = outcomeFor('Q7');
    expect(o).toMatchObject({ code: 'Q7', kind: 'failure' });
    for (const text of texts(o)) expect(text).toContain('Q7');
    expect(knownOutcome('Q7')).toBeUndefined();
    expect(explainOutcome('Q7', 'failed')).toEqual(o);
    expect(outcomeFor('X'.repeat(100)).code.length).toBeLessThanOrEqual(16);
  });

  describe('explainOutcome', () => {
    it('is null while a refund has no code and is not delayed', () => {
      for (const status of refundStatuses) expect(explainOutcome(null, status)).toBeNull();
    });

    it('explains a delayed refund still in flight with the delayed entry and its arrival date', () => {
      for (const status of ['approved', 'processing'] as const) {
        const o = explainOutcome(null, status, { delayed: true, expectedArrival: '2030-01-04' });
        expect(o).toMatchObject({ code: DELAYED_CODE, kind: 'delay' });
        expect(o?.fix['zh-CN']).toContain('预计 2030-01-04 前到账');
        expect(o?.fix['zh-TW']).toContain('預計 2030-01-04 前入帳');
        expect(o?.fix.en).toContain('arrive by 2030-01-04');
      }
      expect(explainOutcome(null, 'rejected', { delayed: true })).toBeNull();
    });

    it('names the arrival date on a success', () => {
      const o = explainOutcome('00', 'succeeded', { expectedArrival: '2030-02-01' });
      expect(o?.kind).toBe('success');
      expect(o?.fix.en).toContain('2030-02-01');
    });

    it('turns a delay code on a failed refund into a failure that does not promise a retry', () => {
      for (const code of ['91', '96']) {
        const o = explainOutcome(code, 'failed', { expectedArrival: '2030-02-01' });
        expect(o).toMatchObject({ code, kind: 'failure', message: outcomeFor(code).message });
        expect(o?.fix.en).not.toMatch(/retried automatically/);
        expect(o?.fix.en).toMatch(/no money moved/);
      }
    });

    it('explains a refusal with its own entry', () => {
      expect(explainOutcome('57', 'failed')).toEqual(outcomeFor('57'));
    });
  });
});
