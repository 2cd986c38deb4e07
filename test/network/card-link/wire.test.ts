import { describe, expect, it } from 'vitest';
import { answersRequest } from '../../../src/network/card-link/wire.js';

const refund = {
  mti: '0220',
  fields: { '3': '200000', '4': '000000001402', '11': '000007', '41': 'T0000001', '60': '25000001000' },
};

describe('matching an answer to its request', () => {
  it('accepts the answer that echoes the request', () => {
    const answer = { mti: '0230', fields: { ...refund.fields, '37': '120300000009', '39': '00' } };
    expect(answersRequest(refund, answer)).toBe(true);
  });

  it('refuses an answer with the same trace number but another amount, batch or message type', () => {
    const late = (fields: Record<string, string>, mti = '0230') => ({
      mti,
      fields: { ...refund.fields, '39': '00', ...fields },
    });
    expect(answersRequest(refund, late({ '4': '000000001401' }))).toBe(false);
    expect(answersRequest(refund, late({ '60': '25000000000' }))).toBe(false);
    expect(answersRequest(refund, late({ '3': '000000' }))).toBe(false);
    expect(answersRequest(refund, late({}, '0210'))).toBe(false);
  });
});
