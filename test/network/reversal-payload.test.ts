import { describe, expect, it } from 'vitest';
import { parseReversal } from '../../src/network/port.js';

describe('reversal payloads of the outbox', () => {
  it('reads a row queued before the payload was typed ({ attemptId } only) as a card reversal', () => {
    expect(parseReversal({ attemptId: 'la_1' })).toEqual({ network: 'card', attemptId: 'la_1' });
  });

  it('reads card and QR reversals as they are queued now', () => {
    expect(parseReversal({ network: 'card', attemptId: 'la_2' })).toEqual({
      network: 'card',
      attemptId: 'la_2',
    });
    expect(parseReversal({ network: 'qr', requestId: 'pay_1', merchantId: 'M1', extra: 1 })).toEqual({
      network: 'qr',
      requestId: 'pay_1',
      merchantId: 'M1',
    });
  });

  it('refuses a payload that names no request to reverse', () => {
    expect(() => parseReversal({ network: 'qr', requestId: 'pay_1' })).toThrow(/requestId, merchantId/);
    expect(() => parseReversal({ network: 'wire', attemptId: 'la_3' })).toThrow(/not a reversal/);
    expect(() => parseReversal(null)).toThrow(/not a reversal/);
  });
});
