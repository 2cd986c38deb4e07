import { describe, expect, it } from 'vitest';
import type { ConsumerLang } from '../../src/domain/returns.js';
import {
  isMessageStep,
  type MessageStep,
  messageSteps,
  type StatusFacts,
  statusMessage,
} from '../../src/receipts/status-messages.js';

/**
 * Issue 12: the consumer's status messages, 3 languages × 7 steps. Each renders whole (no
 * undefined, NaN or unfilled placeholder), quotes the refund number, the amount as money and the
 * status link, fits one long SMS, and is in the language asked for.
 */
const LANGS: readonly ConsumerLang[] = ['zh-CN', 'zh-TW', 'en'];

const facts = (over: Partial<StatusFacts> = {}): StatusFacts => ({
  merchantName: '示例便利店 Demo Mart',
  refundId: 'rf_01JABCDEFGHJKMNPQRSTVWXYZ0',
  amountMinor: 1_234_507,
  currency: 'CNY',
  expectedArrival: '2026-12-09',
  networkReference: '612345678901',
  note: '商品已使用',
  url: 'https://shop.example/t/AbCdEfGhIjKlMnOpQrStUvWxYz012345',
  ...over,
});

/** Steps whose message names the refund and its amount (a rejection names the merchant's note instead). */
const withAmount = (s: MessageStep) => s !== 'rejected';
/** Steps that promise a date. */
const withDate = (s: MessageStep) => s === 'processing' || s === 'succeeded';

/** Characters only one of the two Chinese scripts uses in these messages. */
const SIMPLIFIED = /[货单额进账详验审处银构联请过]/;
const TRADITIONAL = /[貨單額進帳詳驗審處銀構聯請過]/;

describe('consumer status messages', () => {
  it('cover the seven steps a consumer is told of, and nothing else', () => {
    expect([...messageSteps].sort()).toEqual(
      ['canceled', 'failed', 'processing', 'rejected', 'requested', 'succeeded', 'under_review'].sort(),
    );
    for (const s of messageSteps) expect(isMessageStep(s)).toBe(true);
    for (const s of ['approved', 'draft', '', 'REQUESTED', 'toString', '__proto__'])
      expect(isMessageStep(s), s).toBe(false);
  });

  for (const lang of LANGS)
    for (const step of messageSteps)
      it(`${lang} / ${step}: renders whole, with the refund number, the amount and the link`, () => {
        const f = facts();
        const m = statusMessage(lang, step, f);
        const text = `${m.subject}\n${m.body}`;
        expect(m.subject.trim()).not.toBe('');
        expect(text).not.toMatch(/undefined|NaN|null|\[object|\{|\}|\$\{/);
        expect(m.body).toContain(f.merchantName);
        expect(m.body).toContain(f.url);
        // The link ends the message or is followed by whitespace: a phone makes it tappable whole.
        expect(m.body.endsWith(f.url)).toBe(true);
        if (withAmount(step)) {
          expect(m.body).toContain(f.refundId);
          expect(m.body).toContain('¥12345.07');
        } else {
          expect(m.body).toContain(f.note);
        }
        expect(m.body.includes(f.expectedArrival)).toBe(withDate(step));
        expect(m.body.includes(f.networkReference ?? '')).toBe(step === 'succeeded');
        // One long SMS (4 × 70 UCS-2 characters) at most, with a 30-character shop name.
        expect(statusMessage(lang, step, facts({ merchantName: 'M'.repeat(30) })).body.length).toBeLessThan(
          280,
        );
        // The language asked for.
        const own = text.replaceAll(f.merchantName, '').replaceAll(f.note ?? '', '');
        if (lang === 'en') expect(own).not.toMatch(/[\u3000-\u9fff\uff00-\uffef]/);
        if (lang === 'zh-CN') expect(own).not.toMatch(TRADITIONAL);
        if (lang === 'zh-TW') expect(own).not.toMatch(SIMPLIFIED);
        if (lang !== 'en') expect(own).toMatch(/[\u4e00-\u9fff]/);
      });

  it('differ between the three languages at every step', () => {
    for (const step of messageSteps) {
      const bodies = LANGS.map((l) => statusMessage(l, step, facts()).body);
      expect(new Set(bodies).size, step).toBe(3);
      const en = statusMessage('en', step, facts({ merchantName: 'Shop', note: 'used' }));
      expect(`${en.subject}${en.body}`, step).toMatch(/^[\x20-\x7e¥\n]*$/);
    }
  });

  it('format the amount from minor units by the currency exponent, never as a float', () => {
    const body = (amountMinor: number, currency = 'CNY', lang: ConsumerLang = 'en') =>
      statusMessage(lang, 'processing', facts({ amountMinor, currency })).body;
    expect(body(1)).toContain('¥0.01');
    expect(body(10)).toContain('¥0.10');
    expect(body(100)).toContain('¥1.00');
    expect(body(32_200)).toContain('¥322.00');
    expect(body(12_345)).toContain('¥123.45');
    // 0.1 + 0.2 style drift cannot appear: the digits are the minor units' own.
    expect(body(30)).toContain('¥0.30');
    expect(body(999_999_999)).toContain('¥9999999.99');
    expect(body(5_000, 'HKD')).toContain('50.00 HKD');
    expect(body(5_000, 'JPY')).toContain('5000 JPY');
    expect(body(5_000, 'JPY')).not.toContain('¥');
    for (const lang of LANGS) expect(body(32_200, 'CNY', lang)).toContain('¥322.00');
  });

  it('leave out what is unknown instead of printing a blank: no reference, no note', () => {
    for (const lang of LANGS) {
      const succeeded = statusMessage(lang, 'succeeded', facts({ networkReference: null }));
      expect(succeeded.body).not.toMatch(/null|undefined|参考号|參考號|reference/);
      expect(succeeded.body).not.toMatch(/[,，:：]\s*[,，;；]/);
      const rejected = statusMessage(lang, 'rejected', facts({ note: null }));
      expect(rejected.body).not.toMatch(/null|undefined|[:：]\s*[。.]/);
      const withNote = statusMessage(lang, 'rejected', facts({ note: '包装已拆' }));
      expect(withNote.body).toContain('包装已拆');
    }
  });

  it('carry no card number, account or contact: only the facts given', () => {
    const f = facts();
    for (const lang of LANGS)
      for (const step of messageSteps) {
        const { body } = statusMessage(lang, step, f);
        const digits = body
          .replace(f.url, '')
          .replace(f.refundId, '')
          .match(/\d{13,}/g);
        expect(digits, `${lang}/${step}`).toBeNull();
      }
  });
});
