import { describe, expect, it } from 'vitest';
import { bytesFromHex, decode, encode, hexOf, type IsoMessage } from '../../../src/network/iso8583/codec.js';
import { DIALECTS, fieldDef } from '../../../src/network/iso8583/fields.js';
import { thrown } from './support.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');

function encodeError(msg: unknown, dialect: 'cup' | 'ascii87' = 'cup') {
  return thrown(() => encode(msg as IsoMessage, dialect));
}

function decodeError(hex: string, dialect: 'cup' | 'ascii87' = 'cup') {
  const result = decode(bytesFromHex(hex), dialect);
  if (result.ok) throw new Error(`decoded ${JSON.stringify(result.message)}`);
  return result.error;
}

describe('field tables', () => {
  it('define fields 2..128 in both dialects, leaving 1 and 65 to the bitmap', () => {
    for (const spec of Object.values(DIALECTS)) {
      const defined = spec.fields.flatMap((def, n) => (def === undefined ? [] : [n]));
      expect(defined).toEqual(Array.from({ length: 127 }, (_, i) => i + 2).filter((n) => n !== 65));
      for (const n of defined) expect(spec.fields[n]?.number).toBe(n);
    }
  });

  it('follow the 1987 table for the fields the link uses', () => {
    expect(fieldDef('ascii87', 2)).toMatchObject({ type: 'n', lengthKind: 'LLVAR', length: 19 });
    expect(fieldDef('ascii87', 4)).toMatchObject({ type: 'n', lengthKind: 'fixed', length: 12 });
    expect(fieldDef('ascii87', 35)).toMatchObject({ type: 'z', lengthKind: 'LLVAR', length: 37 });
    expect(fieldDef('ascii87', 41)).toMatchObject({ type: 'ans', lengthKind: 'fixed', length: 8 });
    expect(fieldDef('ascii87', 55)).toMatchObject({ type: 'b', lengthKind: 'LLLVAR', length: 255 });
    expect(fieldDef('ascii87', 90)).toMatchObject({ type: 'n', lengthKind: 'fixed', length: 42 });
    expect(fieldDef('cup', 60)).toMatchObject({ type: 'n', lengthKind: 'LLLVAR', length: 17 });
    expect(fieldDef('cup', 62)).toMatchObject({ type: 'b', lengthKind: 'LLLVAR' });
    expect(fieldDef('cup', 49)).toMatchObject({ type: 'an', lengthKind: 'fixed', length: 3 });
  });
});

describe('cup dialect on the wire', () => {
  it('packs the MTI in 2 BCD bytes and the bitmap in 8 raw bytes', () => {
    expect(hexOf(encode({ mti: '0800', fields: { '11': '000105' } }, 'cup'))).toBe(
      '08000020000000000000000105',
    );
  });

  it('right-justifies odd fixed numerics with a leading 0 nibble', () => {
    const bytes = encode({ mti: '0200', fields: { '23': '001' } }, 'cup');
    expect(hexOf(bytes.subarray(10))).toBe('0001');
  });

  it('left-justifies the POS entry mode (field 22) as UnionPay terminals send it', () => {
    const bytes = encode({ mti: '0200', fields: { '22': '051' } }, 'cup');
    expect(hexOf(bytes.subarray(10))).toBe('0510');
  });

  it('left-justifies odd variable numerics after a BCD length counting digits', () => {
    expect(hexOf(encode({ mti: '0800', fields: { '32': '123' } }, 'cup').subarray(10))).toBe('031230');
    expect(hexOf(encode({ mti: '0800', fields: { '60': '00000001003' } }, 'cup').subarray(10))).toBe(
      '0011000000010030',
    );
  });

  it('packs the track 2 separator as nibble D, accepting = for it', () => {
    const withD = encode({ mti: '0200', fields: { '35': '4761739001010119D22122011143804400000' } }, 'cup');
    const withEquals = encode(
      { mti: '0200', fields: { '35': '4761739001010119=22122011143804400000' } },
      'cup',
    );
    expect(withEquals).toEqual(withD);
    const result = decode(withEquals, 'cup');
    expect(result.ok && result.message.fields['35']).toBe('4761739001010119D22122011143804400000');
  });

  it('sends binary fields as raw bytes and text as ASCII', () => {
    const bytes = encode({ mti: '0200', fields: { '41': 'T0000001', '52': '0123456789abcdef' } }, 'cup');
    expect(hexOf(bytes.subarray(10))).toBe(`${hexOf(ascii('T0000001'))}0123456789ABCDEF`);
  });

  it('adds a secondary bitmap only when a field above 64 is present', () => {
    expect(encode({ mti: '0800', fields: { '70': '001' } }, 'cup')).toHaveLength(2 + 16 + 2);
    expect(hexOf(encode({ mti: '0800', fields: { '70': '001' } }, 'cup').subarray(2, 18))).toBe(
      '80000000000000000400000000000000',
    );
  });
});

describe('ascii87 dialect on the wire', () => {
  it('uses ASCII digits for the MTI, numerics and lengths and hex characters for the bitmap', () => {
    const bytes = encode(
      { mti: '0200', fields: { '2': '4761739001010119', '4': '000000001500' } },
      'ascii87',
    );
    expect(bytes.toString('latin1')).toBe('02005000000000000000164761739001010119000000001500');
  });

  it('writes binary fields as UPPERCASE hex characters with a length counting bytes', () => {
    const bytes = encode({ mti: '0200', fields: { '55': '9f0206000000012345' } }, 'ascii87');
    expect(bytes.toString('latin1')).toBe('02000000000000000200009' + '9F0206000000012345');
  });

  it('keeps = and D in track 2 as sent', () => {
    for (const track of ['4761739001010119=2212', '4761739001010119D2212']) {
      const result = decode(encode({ mti: '0200', fields: { '35': track } }, 'ascii87'), 'ascii87');
      expect(result.ok && result.message.fields['35']).toBe(track);
    }
  });

  it('accepts a lowercase hex bitmap', () => {
    // 0x0a flags fields 61 and 63
    const result = decode(ascii('0200000000000000000a003abc001x'), 'ascii87');
    expect(result).toEqual({ ok: true, message: { mti: '0200', fields: { '61': 'abc', '63': 'x' } } });
  });
});

describe('encode validates every value', () => {
  it('refuses an MTI that is not 4 digits', () => {
    for (const mti of ['200', '02000', '02A0', '']) {
      expect(encodeError({ mti, fields: {} })).toMatchObject({ code: 'invalid_mti', field: 'mti' });
    }
  });

  it('refuses bitmap flags, unknown numbers and non-canonical keys as unknown fields', () => {
    for (const key of ['1', '65', '0', '129', '02', 'x']) {
      expect(encodeError({ mti: '0200', fields: { [key]: '1' } }).code).toBe('unknown_field');
    }
  });

  it('refuses a fixed field of the wrong length', () => {
    expect(encodeError({ mti: '0200', fields: { '4': '1500' } })).toMatchObject({
      code: 'invalid_value',
      field: 4,
    });
    expect(encodeError({ mti: '0200', fields: { '41': 'T001' } }, 'ascii87')).toMatchObject({ field: 41 });
  });

  it('refuses a variable field over its maximum', () => {
    expect(encodeError({ mti: '0200', fields: { '2': '1'.repeat(20) } })).toMatchObject({
      code: 'invalid_value',
      field: 2,
    });
    expect(encodeError({ mti: '0200', fields: { '55': 'AB'.repeat(256) } })).toMatchObject({ field: 55 });
  });

  it('refuses characters outside the field type', () => {
    const cases: [string, string][] = [
      ['3', '00001A'],
      ['39', '0!'],
      ['42', 'MERCHANT\u00e9000001'],
      ['52', '0123456789ABCDEG'],
      ['55', 'ABC'],
      ['35', '4761=22;'],
    ];
    for (const [field, value] of cases) {
      expect(encodeError({ mti: '0200', fields: { [field]: value } })).toMatchObject({
        code: 'invalid_value',
        field: Number(field),
      });
    }
  });

  it('refuses non-string values and a missing fields object', () => {
    expect(encodeError({ mti: '0200', fields: { '3': 0 } }).code).toBe('invalid_value');
    expect(encodeError({ mti: '0200' }).code).toBe('invalid_value');
    expect(encodeError(null).code).toBe('invalid_value');
  });

  it('never echoes a value in its error message', () => {
    const pan = '62178576000080508041';
    expect(encodeError({ mti: '0200', fields: { '2': pan } }).message).not.toContain(pan);
    const track = '6217857600008050804D2308220100008230';
    expect(encodeError({ mti: '0200', fields: { '35': `${track};` } }).message).not.toContain(track);
  });
});

describe('decode reports the field and byte offset of malformed input', () => {
  it('reports an empty or short buffer as truncated MTI or bitmap', () => {
    expect(decodeError('')).toMatchObject({ code: 'truncated', field: 'mti', offset: 0 });
    expect(decodeError('0200702406')).toMatchObject({ code: 'truncated', field: 'bitmap', offset: 2 });
    expect(decodeError('0200F0000000000000000000')).toMatchObject({
      code: 'truncated',
      field: 'bitmap',
      offset: 10,
    });
  });

  it('reports non-digit MTIs', () => {
    expect(decodeError('02A0')).toMatchObject({ code: 'bad_mti', field: 'mti', offset: 1 });
    expect(decodeError(hexOf(ascii('02X0')), 'ascii87')).toMatchObject({ code: 'bad_mti', offset: 2 });
  });

  it('reports a bitmap that is not hex characters', () => {
    expect(decodeError(hexOf(ascii('02000000G00000000000')), 'ascii87')).toMatchObject({
      code: 'bad_bitmap',
      field: 'bitmap',
      offset: 8,
    });
  });

  it('reports a field cut short at the offset where it starts', () => {
    expect(decodeError('02003000000000000000000000')).toMatchObject({
      code: 'truncated',
      field: 4,
      offset: 13,
    });
  });

  it('reports the tertiary bitmap flag as an undefined field', () => {
    expect(decodeError('080080000000000000008000000000000000')).toMatchObject({
      code: 'undefined_field',
      field: 65,
      offset: 18,
    });
  });

  it('reports bytes after the last field', () => {
    expect(decodeError('080000200000000000000001050000')).toMatchObject({
      code: 'trailing_bytes',
      field: 11,
      offset: 13,
    });
  });

  it('reports non-decimal BCD digits and non-zero pad nibbles', () => {
    expect(decodeError('08000020000000000000000A05')).toMatchObject({
      code: 'bad_bcd',
      field: 11,
      offset: 11,
    });
    // field 32, 3 digits left-justified: the trailing pad nibble must be 0
    expect(decodeError('08000000000100000000031235')).toMatchObject({
      code: 'bad_bcd',
      field: 32,
      offset: 12,
    });
    // field 23, 3 digits right-justified: the leading pad nibble must be 0
    expect(decodeError('020000000200000000001001')).toMatchObject({ code: 'bad_bcd', field: 23, offset: 10 });
  });

  it('reports length prefixes beyond the field maximum or the LLL range', () => {
    expect(decodeError('0200400000000000000020')).toMatchObject({ code: 'bad_length', field: 2, offset: 10 });
    expect(decodeError('08000000000000000010100000')).toMatchObject({
      code: 'bad_length',
      field: 60,
      offset: 10,
    });
    expect(decodeError(hexOf(ascii('02004000000000000000X1')), 'ascii87')).toMatchObject({
      code: 'bad_length',
      field: 2,
      offset: 20,
    });
  });

  it('reports characters outside a text field type', () => {
    expect(decodeError(`08000000000000800000${hexOf(ascii('T00\u00010001'))}`)).toMatchObject({
      code: 'bad_char',
      field: 41,
      offset: 13,
    });
  });
});
