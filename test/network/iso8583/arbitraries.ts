/** fast-check generators for ISO 8583 messages that are valid in a dialect, and a decode oracle. */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { DecodeResult, IsoMessage } from '../../../src/network/iso8583/codec.js';
import { decode, encode } from '../../../src/network/iso8583/codec.js';
import { decodeErrorCodes } from '../../../src/network/iso8583/errors.js';
import { DIALECTS, type Dialect, type FieldDef } from '../../../src/network/iso8583/fields.js';

const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
const HEX = '0123456789ABCDEF';

/** Variable-length values are mostly short (fast runs) but reach the maximum now and then. */
const SHORT_VALUE_MAX = 40;

function charsOf(def: FieldDef, dialect: Dialect): string {
  switch (def.type) {
    case 'n':
      // The cup private fields 60/61 carry flag nibbles A–F too (decoded UPPERCASE).
      return def.hexNibbles ? HEX : DIGITS;
    case 'z':
      // cup packs the separator as nibble D, which decodes as 'D': '=' is not canonical there.
      return dialect === 'cup' ? `${DIGITS}D` : `${DIGITS}=D`;
    case 'an':
      return `${LETTERS}${DIGITS} `;
    case 'ans':
      return PRINTABLE;
    case 'b':
      return HEX;
  }
}

export function definedFields(dialect: Dialect): FieldDef[] {
  return DIALECTS[dialect].fields.filter((def): def is FieldDef => def !== undefined);
}

export function valueArb(def: FieldDef, dialect: Dialect): fc.Arbitrary<string> {
  const length =
    def.lengthKind === 'fixed'
      ? fc.constant(def.length)
      : fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: 0, max: Math.min(def.length, SHORT_VALUE_MAX) }) },
          { weight: 1, arbitrary: fc.constant(def.length) },
        );
  const chars = [...charsOf(def, dialect)];
  const perUnit = def.type === 'b' ? 2 : 1;
  return length.chain((n) =>
    fc
      .array(fc.constantFrom(...chars), { minLength: n * perUnit, maxLength: n * perUnit })
      .map((a) => a.join('')),
  );
}

export const mtiArb = fc
  .array(fc.constantFrom(...DIGITS), { minLength: 4, maxLength: 4 })
  .map((a) => a.join(''));

export function messageArb(dialect: Dialect, maxFields = 24): fc.Arbitrary<IsoMessage> {
  const defs = definedFields(dialect);
  return fc
    .tuple(
      mtiArb,
      fc.uniqueArray(fc.constantFrom(...defs), { maxLength: maxFields, selector: (d) => d.number }),
    )
    .chain(([mti, chosen]) =>
      fc.tuple(...chosen.map((def) => valueArb(def, dialect))).map((values) => ({
        mti,
        fields: Object.fromEntries(
          chosen
            .map((def, i) => [String(def.number), values[i] ?? ''] as const)
            .sort(([a], [b]) => Number(a) - Number(b)),
        ),
      })),
    );
}

/** A byte-level corruption of an encoded message. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

export function mutate(bytes: Buffer, m: Mutation): Buffer {
  const at = bytes.length === 0 ? 0 : m.at % (m.kind === 'insert' ? bytes.length + 1 : bytes.length);
  const out = Buffer.from(bytes);
  switch (m.kind) {
    case 'flip':
      out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    case 'set':
      out[at] = m.byte;
      return out;
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    case 'truncate':
      return bytes.subarray(0, at);
  }
}

/**
 * The contract of `decode` on any input: it returns (never throws); an error has a known code, names
 * a field (2..128) or the MTI/bitmap, and an offset inside the input; an accepted message is a
 * valid message of the dialect (it encodes, and decodes back to itself).
 */
export function expectWellBehavedDecode(bytes: Buffer, dialect: Dialect): DecodeResult {
  const result = decode(bytes, dialect);
  if (result.ok) {
    const again = decode(encode(result.message, dialect), dialect);
    expect(again).toEqual(result);
  } else {
    const { code, field, offset, message } = result.error;
    expect(decodeErrorCodes).toContain(code);
    if (typeof field === 'number') {
      expect(field).toBeGreaterThanOrEqual(2);
      expect(field).toBeLessThanOrEqual(128);
    } else {
      expect(['mti', 'bitmap']).toContain(field);
    }
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThanOrEqual(bytes.length);
    expect(message.length).toBeGreaterThan(0);
  }
  return result;
}
