/**
 * Properties of the codec on generated input. A failure prints fast-check's seed and path;
 * rerun it with `fc.assert(..., { seed, path })` to replay the exact case.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../../src/network/iso8583/codec.js';
import { dialects } from '../../../src/network/iso8583/fields.js';
import { expectWellBehavedDecode, messageArb, mutate, mutationArb } from './arbitraries.js';

describe.each(dialects)('%s codec properties', (dialect) => {
  it('decodes every encoded valid message back to itself (encode∘decode is the identity)', () => {
    fc.assert(
      fc.property(messageArb(dialect), (msg) => {
        const bytes = encode(msg, dialect);
        expect(decode(bytes, dialect)).toEqual({ ok: true, message: msg });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes, and reports errors inside the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (raw) => {
        expectWellBehavedDecode(Buffer.from(raw), dialect);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random bytes after a valid MTI and bitmap', () => {
    fc.assert(
      fc.property(messageArb(dialect, 8), fc.uint8Array({ maxLength: 200 }), (msg, tail) => {
        const bytes = encode(msg, dialect);
        const head = bytes.subarray(0, Math.min(bytes.length, dialect === 'cup' ? 10 : 20));
        expectWellBehavedDecode(Buffer.concat([head, Buffer.from(tail)]), dialect);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on valid messages with flipped, inserted, deleted or truncated bytes', () => {
    fc.assert(
      fc.property(
        messageArb(dialect),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (msg, mutations) => {
          const mutated = mutations.reduce(mutate, encode(msg, dialect));
          expectWellBehavedDecode(mutated, dialect);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never accepts a truncated message', () => {
    fc.assert(
      fc.property(messageArb(dialect), fc.nat(), (msg, cut) => {
        const bytes = encode(msg, dialect);
        const result = expectWellBehavedDecode(bytes.subarray(0, cut % bytes.length), dialect);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error.code).toBe('truncated');
      }),
      { numRuns: 300 },
    );
  });
});
