/** X9.19 MAC and terminal key handling against published vectors (fixtures/published.json). */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, type IsoMessage } from '../../../src/network/iso8583/codec.js';
import { desEncryptEcb } from '../../../src/network/iso8583/des.js';
import { dialects } from '../../../src/network/iso8583/fields.js';
import {
  decryptWorkingKey,
  encryptWorkingKey,
  generateWorkingKey,
  hasOddParity,
  keyCheckValue,
  withOddParity,
} from '../../../src/network/iso8583/keys.js';
import { attachMac, macOf, verifyMac } from '../../../src/network/iso8583/mac.js';
import { messageArb } from './arbitraries.js';
import { thrown } from './support.js';

interface Vectors {
  x919: { key: string; cases: { ascii: string; macPrefix: string }[] };
  kcv: { key: string; checkValue: string; encryptedUnder?: { tmk: string; encrypted: string } }[];
  des: { key: string; ascii: string; ciphertext: string };
}
const vectors: Vectors = JSON.parse(
  readFileSync(new URL('./fixtures/published.json', import.meta.url), 'utf8'),
).cryptoVectors;

const hex = (s: string) => Buffer.from(s, 'hex');
const MAC_KEY = hex('0123456789ABCDEFFEDCBA9876543210');
const OTHER_KEY = hex('89ABCDEF01234567FEDCBA9876543210');

describe('DES on OpenSSL 3', () => {
  it('does single DES as triple DES with the key repeated (FIPS 81 example)', () => {
    const { key, ascii, ciphertext } = vectors.des;
    expect(desEncryptEcb(hex(key), Buffer.from(ascii, 'latin1')).toString('hex').toUpperCase()).toBe(
      ciphertext,
    );
  });
});

describe('X9.19 retail MAC', () => {
  it('matches the ISO 9797-1 Annex B.4 examples', () => {
    for (const { ascii, macPrefix } of vectors.x919.cases) {
      const mac = macOf(Buffer.from(ascii, 'latin1'), hex(vectors.x919.key));
      expect(mac).toHaveLength(8);
      expect(mac.toString('hex').toUpperCase().startsWith(macPrefix)).toBe(true);
    }
  });

  it('zero-pads, so trailing zero bytes up to a block boundary do not change the MAC', () => {
    const data = Buffer.from('Now is the time for it', 'latin1');
    expect(macOf(Buffer.concat([data, Buffer.alloc(2)]), MAC_KEY)).toEqual(macOf(data, MAC_KEY));
    expect(macOf(Buffer.alloc(0), MAC_KEY)).toEqual(macOf(Buffer.alloc(8), MAC_KEY));
  });

  it('refuses keys that are not 16 bytes', () => {
    expect(thrown(() => macOf(Buffer.from('x'), Buffer.alloc(8))).code).toBe('invalid_key');
  });
});

describe.each(dialects)('MAC on %s messages', (dialect) => {
  const sale: IsoMessage = {
    mti: '0200',
    fields: { '3': '000000', '4': '000000001500', '11': '000105', '41': 'T0000001', '42': '898100000000001' },
  };

  it('puts the MAC of the bytes before it in field 64, last', () => {
    const bytes = attachMac(sale, dialect, MAC_KEY);
    const decoded = decode(bytes, dialect);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const width = dialect === 'cup' ? 8 : 16;
    const covered = bytes.subarray(0, bytes.length - width);
    expect(decoded.message.fields['64']).toBe(macOf(covered, MAC_KEY).toString('hex').toUpperCase());
    expect(verifyMac(bytes, dialect, MAC_KEY)).toBe(true);
  });

  it('uses field 128 when the message has a secondary bitmap', () => {
    const bytes = attachMac(
      { mti: '0800', fields: { '11': '000001', '70': '001', '64': '00' } },
      dialect,
      MAC_KEY,
    );
    const decoded = decode(bytes, dialect);
    expect(decoded.ok && Object.keys(decoded.message.fields)).toEqual(['11', '70', '128']);
    expect(verifyMac(bytes, dialect, MAC_KEY)).toBe(true);
  });

  it('rejects a message changed in any byte, a wrong key, or no MAC at all', () => {
    const bytes = attachMac(sale, dialect, MAC_KEY);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const changed = Buffer.from(bytes);
        const i = at % changed.length;
        changed[i] = (changed[i] ?? 0) ^ xor;
        expect(verifyMac(changed, dialect, MAC_KEY)).toBe(false);
      }),
      { numRuns: 200 },
    );
    expect(verifyMac(bytes, dialect, OTHER_KEY)).toBe(false);
    expect(verifyMac(encode(sale, dialect), dialect, MAC_KEY)).toBe(false);
    expect(verifyMac(Buffer.from('garbage'), dialect, MAC_KEY)).toBe(false);
  });

  it('verifies the MAC it attaches on any valid message', () => {
    fc.assert(
      fc.property(messageArb(dialect, 10), (msg) => {
        expect(verifyMac(attachMac(msg, dialect, MAC_KEY), dialect, MAC_KEY)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('terminal keys', () => {
  it('computes published key check values', () => {
    for (const { key, checkValue } of vectors.kcv) {
      expect(keyCheckValue(hex(key), 8).toString('hex').toUpperCase()).toBe(checkValue);
      expect(keyCheckValue(hex(key)).toString('hex').toUpperCase()).toBe(checkValue.slice(0, 8));
    }
  });

  it('encrypts a working key under the TMK as the published QPOS example', () => {
    const withExample = vectors.kcv.filter((v) => v.encryptedUnder !== undefined);
    expect(withExample.length).toBeGreaterThan(0);
    for (const { key, checkValue, encryptedUnder } of withExample) {
      if (encryptedUnder === undefined) continue;
      const tmk = hex(encryptedUnder.tmk);
      expect(encryptWorkingKey(tmk, hex(key)).toString('hex').toUpperCase()).toBe(encryptedUnder.encrypted);
      expect(decryptWorkingKey(tmk, hex(encryptedUnder.encrypted), hex(checkValue).subarray(0, 4))).toEqual(
        hex(key),
      );
    }
  });

  it('round-trips any working key and refuses one whose check value does not match', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (t, k) => {
          const tmk = Buffer.from(t);
          const key = Buffer.from(k);
          const encrypted = encryptWorkingKey(tmk, key);
          expect(decryptWorkingKey(tmk, encrypted, keyCheckValue(key))).toEqual(key);
        },
      ),
      { numRuns: 100 },
    );
    const encrypted = encryptWorkingKey(MAC_KEY, OTHER_KEY);
    expect(thrown(() => decryptWorkingKey(OTHER_KEY, encrypted, keyCheckValue(OTHER_KEY))).code).toBe(
      'invalid_key',
    );
  });

  it('refuses keys of the wrong size without showing them', () => {
    const error = thrown(() => encryptWorkingKey(Buffer.alloc(8, 0xab), OTHER_KEY));
    expect(error.code).toBe('invalid_key');
    expect(error.message).not.toMatch(/ab/i);
    expect(thrown(() => keyCheckValue(MAC_KEY, 9)).code).toBe('invalid_key');
  });

  it('generates 16-byte keys with odd parity and distinct halves', () => {
    for (let i = 0; i < 20; i++) {
      const key = generateWorkingKey();
      expect(key).toHaveLength(16);
      expect(hasOddParity(key)).toBe(true);
      expect(key.subarray(0, 8).equals(key.subarray(8))).toBe(false);
    }
  });

  it('redraws when the random source gives equal halves, and gives up after a bounded number of draws', () => {
    const draws = [Buffer.alloc(16, 0x11), Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex')];
    const key = generateWorkingKey(() => draws.shift() ?? Buffer.alloc(16));
    expect(key.toString('hex').toUpperCase()).toBe('01102332455467768998ABBACDDCEFFE');
    expect(thrown(() => generateWorkingKey(() => Buffer.alloc(16))).code).toBe('invalid_key');
  });

  it('fixes parity in the lowest bit only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (raw) => {
        const key = withOddParity(Buffer.from(raw));
        expect(hasOddParity(key)).toBe(true);
        expect([...key].map((byte) => byte & 0xfe)).toEqual([...raw].map((byte) => byte & 0xfe));
      }),
    );
  });
});
