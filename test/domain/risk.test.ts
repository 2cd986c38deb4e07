import { describe, expect, it } from 'vitest';
import { checkEvidence, MAX_EVIDENCE_BYTES, sniffImageType } from '../../src/domain/evidence.js';
import { defaultPolicy, validatePolicy } from '../../src/domain/policy.js';
import { checkReviewChecklist, reviewChecklistRequired } from '../../src/domain/review.js';
import { decideHold, type RiskFacts } from '../../src/domain/risk.js';
import { domainError, policy } from './fixtures.js';

const ON = { operatorRefundsPerHour: 10, cardRefundsPerDay: 3, shareOfDaySalesPercent: 50 };
const facts = (f: Partial<RiskFacts> = {}): RiskFacts => ({
  amountMinor: 100,
  day: '2026-11-02',
  operatorRefundsLastHour: 0,
  operatorNo: '01',
  cardOrdersToday: 1,
  cardLast4: '4411',
  daySalesMinor: 10_000,
  ...f,
});

describe('risk rules (decideHold)', () => {
  it('are off by default, and a policy with them off holds nothing', () => {
    expect(defaultPolicy.riskRules).toEqual({
      operatorRefundsPerHour: null,
      cardRefundsPerDay: null,
      shareOfDaySalesPercent: null,
    });
    expect(
      decideHold(
        defaultPolicy.riskRules,
        facts({ operatorRefundsLastHour: 999, cardOrdersToday: 99, daySalesMinor: 0 }),
      ),
    ).toBeNull();
  });

  it('holds the operator’s (N+1)th refund of the hour, not the Nth', () => {
    expect(decideHold(ON, facts({ operatorRefundsLastHour: 9 }))).toBeNull();
    expect(decideHold(ON, facts({ operatorRefundsLastHour: 10 }))?.rule).toBe('operator_refunds_per_hour');
    // No operator (an API key): the rule does not apply.
    expect(decideHold(ON, facts({ operatorRefundsLastHour: null, operatorNo: null }))).toBeNull();
  });

  it('holds a card refunded on more than N different orders of the day', () => {
    expect(decideHold(ON, facts({ cardOrdersToday: 3 }))).toBeNull();
    expect(decideHold(ON, facts({ cardOrdersToday: 4 }))?.rule).toBe('card_refunds_per_day');
    expect(decideHold(ON, facts({ cardOrdersToday: null }))).toBeNull();
  });

  it('holds a refund above X % of the day’s sales, exactly, in integers', () => {
    expect(decideHold(ON, facts({ amountMinor: 5_000 }))).toBeNull();
    expect(decideHold(ON, facts({ amountMinor: 5_001 }))?.rule).toBe('share_of_day_sales');
    expect(decideHold(ON, facts({ amountMinor: 1, daySalesMinor: 0 }))?.rule).toBe('share_of_day_sales');
    // Past 2^53 when multiplied: 1,000 % of ¥90 billion of sales.
    const sales = 9_000_000_000_000;
    const rules = { ...ON, shareOfDaySalesPercent: 1_000 };
    expect(decideHold(rules, facts({ amountMinor: sales * 10, daySalesMinor: sales }))).toBeNull();
    expect(decideHold(rules, facts({ amountMinor: sales * 10 + 1, daySalesMinor: sales }))?.rule).toBe(
      'share_of_day_sales',
    );
  });

  it('reports the first rule in a fixed order when several fire', () => {
    const all = facts({ operatorRefundsLastHour: 10, cardOrdersToday: 4, amountMinor: 9_000 });
    expect(decideHold(ON, all)?.rule).toBe('operator_refunds_per_hour');
    expect(decideHold({ ...ON, operatorRefundsPerHour: null }, all)?.rule).toBe('card_refunds_per_day');
  });

  it('are whole numbers within their range, or null', () => {
    for (const riskRules of [
      { ...ON, operatorRefundsPerHour: 0 },
      { ...ON, cardRefundsPerDay: 101 },
      { ...ON, shareOfDaySalesPercent: 12.5 },
    ]) {
      domainError(() => validatePolicy(policy({ riskRules })), 'validation_failed');
    }
    expect(validatePolicy(policy({ riskRules: ON })).riskRules).toEqual(ON);
  });
});

describe('review checklist', () => {
  const ok = { voucherMatches: true, amountMatches: true, goodsCondition: 'intact' as const };
  it('is required of a held refund and of one accepted from the queue, not of the counter’s second approval', () => {
    expect(reviewChecklistRequired({ status: 'requested', held: true, createdAs: 'requested' })).toBe(true);
    expect(reviewChecklistRequired({ status: 'under_review', held: false, createdAs: 'requested' })).toBe(
      true,
    );
    expect(reviewChecklistRequired({ status: 'under_review', held: false, createdAs: 'under_review' })).toBe(
      false,
    );
    expect(reviewChecklistRequired({ status: 'requested', held: false, createdAs: 'requested' })).toBe(false);
  });
  it('refuses a missing checklist where required, and one that says the voucher or amount does not match', () => {
    domainError(() => checkReviewChecklist(true, undefined), 'review_checklist_incomplete');
    domainError(
      () => checkReviewChecklist(false, { ...ok, voucherMatches: false }),
      'review_checklist_incomplete',
    );
    domainError(
      () => checkReviewChecklist(true, { ...ok, amountMatches: false }),
      'review_checklist_incomplete',
    );
    expect(() => checkReviewChecklist(true, { ...ok, goodsCondition: 'damaged' })).not.toThrow();
    expect(() => checkReviewChecklist(false, undefined)).not.toThrow();
  });
});

describe('evidence photos', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]);
  it('knows JPEG, PNG and WebP by their bytes, and nothing else', () => {
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xdb]))).toBe('image/jpeg');
    expect(sniffImageType(png)).toBe('image/png');
    expect(sniffImageType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('image/webp');
    expect(sniffImageType(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1'))).toBeNull();
    expect(sniffImageType(Buffer.from('GIF89a'))).toBeNull();
    expect(sniffImageType(Buffer.alloc(0))).toBeNull();
  });
  it('checks the refund’s status, the count, the size and the type, in that order', () => {
    const base = {
      declaredType: 'image/png',
      bytes: png,
      refundStatus: 'under_review' as const,
      photosSoFar: 5,
    };
    expect(checkEvidence(base)).toBe('image/png');
    domainError(() => checkEvidence({ ...base, refundStatus: 'approved' }), 'invalid_state_transition');
    domainError(() => checkEvidence({ ...base, photosSoFar: 6 }), 'evidence_limit');
    domainError(
      () => checkEvidence({ ...base, bytes: Buffer.concat([png, Buffer.alloc(MAX_EVIDENCE_BYTES)]) }),
      'evidence_too_large',
    );
    domainError(() => checkEvidence({ ...base, declaredType: 'image/jpeg' }), 'evidence_type_unsupported');
  });
});
