/**
 * Terminal key handling (master/session scheme): working keys (PIN key, MAC key) travel encrypted
 * under the terminal master key (TMK) with double-length triple DES in ECB mode, each with its key
 * check value so both ends can tell they hold the same key without revealing it.
 *
 * Keys are Buffers of 16 bytes (K_L‖K_R). Nothing here logs or formats key material: errors name
 * the expected size only, and callers must keep keys out of logs (issue 4 item 2).
 */
import { randomBytes } from 'node:crypto';
import { assertKey, DES_BLOCK_BYTES, DOUBLE_KEY_BYTES, tdesDecryptEcb, tdesEncryptEcb } from './des.js';
import { Iso8583Error } from './errors.js';

export const KEY_BYTES = DOUBLE_KEY_BYTES;
/** Check values are the first 4 bytes of E(K, 0⁸) here; some hosts send 3 (X9.24 legacy) or 8. */
export const KCV_BYTES = 4;
/** Attempts `generateWorkingKey` makes to draw a key whose halves differ, before it gives up. */
const MAX_KEY_DRAWS = 8;

/** The working key encrypted under the TMK (3DES ECB, 2 blocks), as sent in a sign-in answer. */
export function encryptWorkingKey(tmk: Buffer, key: Buffer): Buffer {
  assertKey(tmk, KEY_BYTES, 'terminal master key');
  assertKey(key, KEY_BYTES, 'working key');
  return tdesEncryptEcb(tmk, key);
}

/**
 * The clear working key from its encryption under the TMK. With `expectedKcv` (as a host sends next
 * to the key) a mismatch throws `invalid_key`: a wrong TMK or a corrupted key must not be installed.
 */
export function decryptWorkingKey(tmk: Buffer, encrypted: Buffer, expectedKcv?: Buffer): Buffer {
  assertKey(tmk, KEY_BYTES, 'terminal master key');
  assertKey(encrypted, KEY_BYTES, 'encrypted working key');
  const key = tdesDecryptEcb(tmk, encrypted);
  if (expectedKcv !== undefined) {
    const actual = keyCheckValue(key, expectedKcv.length);
    if (expectedKcv.length === 0 || !actual.equals(expectedKcv)) {
      throw new Iso8583Error('invalid_key', 'key', 'working key check value does not match');
    }
  }
  return key;
}

/** Key check value: the first `bytes` (default 4, at most 8) of 3DES-encrypting 8 zero bytes. */
export function keyCheckValue(key: Buffer, bytes: number = KCV_BYTES): Buffer {
  assertKey(key, KEY_BYTES, 'key');
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > DES_BLOCK_BYTES) {
    throw new Iso8583Error('invalid_key', 'key', `a check value has 0..${DES_BLOCK_BYTES} bytes`);
  }
  return tdesEncryptEcb(key, Buffer.alloc(DES_BLOCK_BYTES)).subarray(0, bytes);
}

/** Sets each byte's lowest bit so that the byte has an odd number of 1 bits (DES key parity). */
export function withOddParity(key: Buffer): Buffer {
  const out = Buffer.from(key);
  for (let i = 0; i < out.length; i++) {
    const high = (out[i] ?? 0) & 0xfe;
    out[i] = popcount(high) % 2 === 0 ? high | 1 : high;
  }
  return out;
}

export function hasOddParity(key: Buffer): boolean {
  return key.every((byte) => popcount(byte) % 2 === 1);
}

function popcount(byte: number): number {
  let count = 0;
  for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  return count;
}

/**
 * A fresh double-length working key with odd parity whose halves differ (equal halves would make
 * it single DES). `random` is injectable so tests are deterministic; it defaults to node:crypto.
 */
export function generateWorkingKey(random: (bytes: number) => Buffer = randomBytes): Buffer {
  for (let draw = 0; draw < MAX_KEY_DRAWS; draw++) {
    const key = withOddParity(random(KEY_BYTES));
    assertKey(key, KEY_BYTES, 'generated key');
    if (!key.subarray(0, DES_BLOCK_BYTES).equals(key.subarray(DES_BLOCK_BYTES))) return key;
  }
  throw new Iso8583Error(
    'invalid_key',
    'key',
    `no usable key in ${MAX_KEY_DRAWS} draws from the random source`,
  );
}
