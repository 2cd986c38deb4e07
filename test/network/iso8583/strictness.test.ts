/**
 * What the ISO 8583 pieces must refuse, and the few `cup` field layouts the money messages rely
 * on: gaps found by mutation testing (issue 9, docs/mutation-report.md).
 */
import { describe, expect, it } from 'vitest';
import { iso8583Cli } from '../../../src/network/iso8583/cli.js';
import { desEncryptCbc, desEncryptEcb, tdesEncryptEcb } from '../../../src/network/iso8583/des.js';
import {
  bytesFromHex,
  cupHeader,
  DIALECTS,
  decode,
  decryptWorkingKey,
  encode,
  encryptWorkingKey,
  FrameDecoder,
  frame,
  hasOddParity,
  Iso8583Error,
  keyCheckValue,
  MAX_FRAME_BYTES,
  macOf,
  parseCupHeader,
  responseTpdu,
  verifyMac,
  withOddParity,
} from '../../../src/network/iso8583/index.js';
import { thrown } from './support.js';

const KEY = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
const TMK = Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex');
const TPDU = '6000030000';
const HEADER = '603100310000';

describe('MAC verification', () => {
  it('refuses a field 64 beside a secondary bitmap, even when field 128 holds the right MAC', () => {
    // Field 128 is the MAC once a secondary bitmap exists; a 64 there is a forgery's foothold.
    const fields = { '3': '000000', '64': '0000000000000000', '100': '12345', '128': '0000000000000000' };
    const bytes = encode({ mti: '0200', fields }, 'cup');
    const covered = bytes.subarray(0, bytes.length - 8);
    const signed = Buffer.concat([covered, macOf(covered, KEY)]);
    expect(verifyMac(signed, 'cup', KEY)).toBe(false);
  });
});

describe('working keys and check values', () => {
  const key = withOddParity(Buffer.from('1C1C1C1C1C1C1C1C2F2F2F2F2F2F2F2F', 'hex'));
  const sealed = encryptWorkingKey(TMK, key);

  it('opens a sealed key with or without a check value, but never with an empty one', () => {
    expect(decryptWorkingKey(TMK, sealed)).toEqual(key);
    expect(decryptWorkingKey(TMK, sealed, keyCheckValue(key))).toEqual(key);
    expect(thrown(() => decryptWorkingKey(TMK, sealed, Buffer.alloc(0))).code).toBe('invalid_key');
  });

  it('makes check values of 0 to 8 bytes and no other length', () => {
    expect(keyCheckValue(key, 0)).toHaveLength(0);
    expect(keyCheckValue(key, 8)).toEqual(tdesEncryptEcb(key, Buffer.alloc(8)));
    for (const bytes of [-1, 9, 1.5])
      expect(thrown(() => keyCheckValue(key, bytes)).code).toBe('invalid_key');
  });

  it('finds a single byte of even parity, wherever it is', () => {
    expect(hasOddParity(key)).toBe(true);
    for (const at of [0, 15]) {
      const bad = Buffer.from(key);
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      expect(hasOddParity(bad), `byte ${at}`).toBe(false);
    }
  });

  it('DES runs on whole 8-byte blocks only', () => {
    for (const fn of [
      () => desEncryptEcb(KEY.subarray(0, 8), Buffer.alloc(7)),
      () => desEncryptCbc(KEY.subarray(0, 8), Buffer.alloc(12)),
    ]) {
      expect(thrown(fn).code).toBe('invalid_value');
    }
  });
});

describe('framing refuses what is not exactly a TPDU or header', () => {
  it('refuses a TPDU or header with a character too many, in front or behind', () => {
    for (const tpdu of ['x6000030000', '60000300001', '6000030000 ']) {
      expect(thrown(() => frame(Buffer.from([1]), { tpdu, header: HEADER })).code, tpdu).toBe('bad_tpdu');
      expect(thrown(() => responseTpdu(tpdu)).code, tpdu).toBe('bad_tpdu');
    }
    for (const header of ['x603100310000', '6031003100001']) {
      expect(thrown(() => frame(Buffer.from([1]), { tpdu: TPDU, header })).code, header).toBe('bad_header');
    }
  });

  it('answers a TPDU and reads a header in UPPERCASE hex', () => {
    expect(responseTpdu('600a0b0c0d')).toBe('600C0D0A0B');
    expect(parseCupHeader('6031003100ab').reserved).toBe('3100AB');
    expect(
      cupHeader({
        applicationType: 0x60,
        version: 0x31,
        terminalStatus: 0,
        processingRequirement: 0,
        reserved: 'abcdef',
      }),
    ).toBe('603100ABCDEF');
  });

  it('keeps each part of the cup header within its range', () => {
    const h = {
      applicationType: 0x60,
      version: 0x31,
      terminalStatus: 0,
      processingRequirement: 0,
      reserved: '000000',
    };
    expect(cupHeader({ ...h, version: 0xff, terminalStatus: 15, processingRequirement: 15 })).toBe(
      '60FFFF000000',
    );
    for (const bad of [
      { version: 0x100 },
      { applicationType: -1 },
      { terminalStatus: 16 },
      { processingRequirement: 1.5 },
      { reserved: '00000G' },
      { reserved: '0000000' },
      { reserved: 'x000000' },
    ]) {
      expect(thrown(() => cupHeader({ ...h, ...bad })).code, JSON.stringify(bad)).toBe('bad_header');
    }
  });

  it('takes a frame of exactly the limit, and names the stream offset of a bad frame after good ones', () => {
    const decoder = new FrameDecoder({ header: true });
    const message = Buffer.alloc(MAX_FRAME_BYTES - 5 - 6, 0x30);
    const big = frame(message, { tpdu: TPDU, header: HEADER });
    expect(big.readUInt16BE(0)).toBe(MAX_FRAME_BYTES);
    expect(decoder.push(big).frames).toHaveLength(1);
    const small = frame(Buffer.from('0800', 'latin1'), { tpdu: TPDU, header: HEADER });
    expect(decoder.push(small).frames).toHaveLength(1);
    const bad = Buffer.from(small);
    bad[2] = 0x61; // not a TPDU
    const result = decoder.push(bad);
    expect(result.error).toMatchObject({ code: 'bad_tpdu', offset: big.length + small.length + 2 });
  });
});

describe('the codec refuses malformed input with its own errors', () => {
  it('refuses a message that is not {mti, fields} of strings', () => {
    const bad: [unknown, string][] = [
      [null, 'invalid_value'],
      ['0200', 'invalid_value'],
      [{ mti: 200, fields: {} }, 'invalid_mti'],
      [{ mti: '0200', fields: [] }, 'invalid_value'],
      [{ mti: '0200', fields: null }, 'invalid_value'],
      [{ mti: '0200', fields: { '3': 0 } }, 'invalid_value'],
    ];
    for (const [msg, code] of bad) {
      expect(thrown(() => encode(msg as never, 'cup')).code, JSON.stringify(msg)).toBe(code);
    }
  });

  it('allows hex nibbles in field 60 only: letters in an amount or in no hex at all are refused', () => {
    expect(() => encode({ mti: '0200', fields: { '60': '22000001000A' } }, 'cup')).not.toThrow();
    for (const value of ['G1', '1G', '22000001000G']) {
      expect(thrown(() => encode({ mti: '0200', fields: { '60': value } }, 'cup')).code, value).toBe(
        'invalid_value',
      );
    }
    expect(thrown(() => encode({ mti: '0200', fields: { '4': '00000000010A' } }, 'cup')).code).toBe(
      'invalid_value',
    );
  });

  it('reads a hex string of whole bytes only', () => {
    expect(bytesFromHex('0a 0B')).toEqual(Buffer.from([0x0a, 0x0b]));
    expect(thrown(() => bytesFromHex('ABC')).code).toBe('bad_hex');
  });

  it('puts the offset into an error as JSON only when it has one', () => {
    expect(new Iso8583Error('bad_hex', 'input', 'x').toJSON()).toEqual({
      code: 'bad_hex',
      field: 'input',
      message: 'x',
    });
    expect(new Iso8583Error('bad_bcd', 4, 'x', 7).toJSON()).toEqual({
      code: 'bad_bcd',
      field: 4,
      offset: 7,
      message: 'x',
    });
  });
});

describe('decoding refuses bytes that break their field type', () => {
  /** Encode, then overwrite the last `bytes.length` bytes of the message. */
  const patched = (msg: Parameters<typeof encode>[0], dialect: 'cup' | 'ascii87', tail: number[]) => {
    const bytes = encode(msg, dialect);
    Buffer.from(tail).copy(bytes, bytes.length - tail.length);
    return decode(bytes, dialect);
  };

  it('refuses a non-alphanumeric character in an `an` field', () => {
    const r = patched({ mti: '0210', fields: { '39': '00' } }, 'cup', [0x23]);
    expect(r.ok ? null : r.error.code).toBe('bad_char');
  });

  it('refuses a nibble that is not a digit in a BCD amount (only track 2 has its separator)', () => {
    const r = patched({ mti: '0200', fields: { '4': '000000000100' } }, 'cup', [0x0a]);
    expect(r.ok ? null : r.error.code).toBe('bad_bcd');
    const track = decode(encode({ mti: '0200', fields: { '35': '6222021234567890D2912' } }, 'cup'), 'cup');
    expect(track.ok ? track.message.fields['35'] : null).toBe('6222021234567890D2912');
  });

  it('refuses a letter other than the separator in ASCII track 2, and reads lowercase hex in `b` fields', () => {
    const r = patched({ mti: '0200', fields: { '35': '6222021234567890D2912' } }, 'ascii87', [0x58]);
    expect(r.ok ? null : r.error.code).toBe('bad_char');
    const pin = patched({ mti: '0200', fields: { '52': 'FFFFFFFFFFFFFFFF' } }, 'ascii87', [
      ...Buffer.from('ff'),
    ]);
    expect(pin.ok ? pin.message.fields['52'] : pin.error).toBe('FFFFFFFFFFFFFFFF');
  });

  it('refuses a BCD length prefix past 999', () => {
    const bytes = encode({ mti: '0200', fields: { '48': '1' } }, 'cup');
    // MTI (2) + bitmap (8), then field 48's two-byte BCD length prefix.
    bytes[10] = 0x10;
    bytes[11] = 0x00;
    const r = decode(bytes, 'cup');
    expect(r.ok ? null : r.error.code).toBe('bad_length');
  });
});

describe('the cup layout of the private fields that carry money', () => {
  const afterBitmap = (fields: Record<string, string>) => encode({ mti: '0500', fields }, 'cup').subarray(10);

  it('48 (settlement totals) and 61 (original transaction) are LLL BCD digits', () => {
    expect(afterBitmap({ '48': '0000000123450010' }).toString('hex')).toBe('00160000000123450010');
    expect(afterBitmap({ '61': '000001000123' }).toString('hex')).toBe('0012000001000123');
    expect(DIALECTS.cup.fields[48]).toMatchObject({ type: 'n', lengthKind: 'LLLVAR', length: 322 });
    expect(DIALECTS.cup.fields[61]).toMatchObject({ type: 'n', lengthKind: 'LLLVAR', length: 29 });
  });

  it('54 (balance) holds at most 20 characters', () => {
    const tooLong = () => encode({ mti: '0210', fields: { '54': 'x'.repeat(21) } }, 'cup');
    expect(thrown(tooLong).message).toMatch(/21 characters, at most 20/);
    expect(() => encode({ mti: '0210', fields: { '54': 'x'.repeat(20) } }, 'cup')).not.toThrow();
    expect(thrown(() => encode({ mti: '0210', fields: { '54': 'x'.repeat(21) } }, 'cup')).code).toBe(
      'invalid_value',
    );
  });
});

describe('refund-desk iso8583 usage', () => {
  async function run(...args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await iso8583Cli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    return { code, stdout, stderr };
  }

  it('prints the usage for --help and -h and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run('decode', '00', flag);
      expect(r.code, flag).toBe(0);
      expect(r.stderr).toMatch(/^Usage:/);
    }
  });

  it('refuses an argument over 65,536 characters, and JSON that is not an object', async () => {
    expect((await run('decode', '0'.repeat(65_538))).code).toBe(2);
    expect((await run('decode', '0'.repeat(65_536))).stderr).not.toMatch(/longer than/);
    for (const json of ['[]', 'null', '"0200"']) {
      const r = await run('encode', json);
      expect(r.code, json).toBe(1);
      expect(JSON.parse(r.stderr)).toMatchObject({ code: 'invalid_value', field: 'input' });
    }
  });
});
