import { describe, expect, it } from 'vitest';
import { withoutPasswords } from '../../src/api/http.js';

/** What the Idempotency-Key row hashes: never a password, at any depth (issue 11 review). */
describe('idempotency fingerprint without passwords', () => {
  it('drops every password, keeps everything else, and leaves the input as it was', () => {
    const body = {
      paymentId: 'pay_1',
      amount: 100,
      approvals: [
        { operatorNo: '00', password: '123456' },
        { operatorNo: '02', password: '222222' },
      ],
      consumer: { name: '张三', nested: { password: 'x', keep: [1, { password: 'y', z: null }] } },
      password: 'top',
    };
    const copy = structuredClone(body);
    expect(withoutPasswords(body)).toEqual({
      paymentId: 'pay_1',
      amount: 100,
      approvals: [{ operatorNo: '00' }, { operatorNo: '02' }],
      consumer: { name: '张三', nested: { keep: [1, { z: null }] } },
    });
    expect(body).toEqual(copy);
    expect(JSON.stringify(withoutPasswords(body))).not.toMatch(/123456|222222|top/);
  });

  it('passes scalars, null and binary bodies through', () => {
    expect(withoutPasswords(null)).toBeNull();
    expect(withoutPasswords('s')).toBe('s');
    const buf = Buffer.from([1, 2, 3]);
    expect(withoutPasswords(buf)).toBe(buf);
  });
});
