import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReturnSubmitBody } from '../../src/api/schemas.js';
import { emailError, isEmail, isPhone, normalPhone, phoneError } from '../../src/web/shared/contact.js';

/**
 * The pages check a consumer's phone and e-mail before sending (src/web/shared/contact.ts): the
 * same answer as the server's own schema, so a page never lets through what the API refuses, nor
 * refuses what it would take.
 */
const ajv = new Ajv({ allErrors: false });
addFormats.default(ajv);
const serverTakes = ajv.compile(ReturnSubmitBody);
const server = (contact: { phone?: string; email?: string }) =>
  serverTakes({ reason: { code: 'quality_issue' }, contact });

describe('a consumer contact, checked in the page as on the server', () => {
  it('takes the numbers people type, with spaces, dashes and brackets', () => {
    expect(normalPhone('138 0013-8000')).toBe('13800138000');
    expect(normalPhone('(021) 6234 5678')).toBe('02162345678');
    expect(isPhone('+86 138 0013 8000')).toBe(true);
    expect(phoneError('12')).toBe('badPhone');
    expect(phoneError('')).toBeNull();
    expect(emailError('buyer@')).toBe('badEmail');
    expect(emailError('  ')).toBeNull();
    expect(isEmail('buyer@example.com')).toBe(true);
    expect(isEmail(`${'a'.repeat(250)}@b.cn`)).toBe(false);
  });

  it('agrees with the server on every e-mail and phone (as sent)', () => {
    const candidates = fc.oneof(
      fc.emailAddress(),
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^[a-z0-9.+-]{0,12}@[a-z0-9.-]{0,12}$/),
    );
    fc.assert(
      fc.property(candidates, (email) => isEmail(email) === server({ email: email.trim() })),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[+0-9 ()-]{0,24}$/), (typed) => {
        const sent = normalPhone(typed);
        return sent === '' || isPhone(typed) === server({ phone: sent });
      }),
      { numRuns: 2_000 },
    );
  });
});
