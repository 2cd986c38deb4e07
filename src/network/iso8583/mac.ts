/**
 * Message authentication for financial messages: ANSI X9.19 retail MAC (ISO 9797-1 MAC algorithm 3
 * with padding method 1) under a double-length MAC key K_L‖K_R.
 *
 *   blocks = data, zero-padded to a multiple of 8 bytes (empty data → one zero block)
 *   H = DES-CBC(K_L, IV = 0) over the blocks, keep the last block
 *   MAC = E(K_L, D(K_R, H))
 *
 * MAC input rule: the MAC covers the message bytes from the MTI up to, not including, the MAC
 * field's data; the bitmap already flags the MAC field. The MAC is field 64, or field 128 when the
 * message has a secondary bitmap (then 64 must be absent), so it is always the last field.
 * (Some UnionPay host specs use their own XOR-then-DES "POS MAC"; this link uses X9.19 throughout.)
 */
import { timingSafeEqual } from 'node:crypto';
import { decode, encode, type IsoMessage } from './codec.js';
import {
  assertKey,
  DES_BLOCK_BYTES,
  DOUBLE_KEY_BYTES,
  desDecryptEcb,
  desEncryptCbc,
  desEncryptEcb,
} from './des.js';
import { DIALECTS, type Dialect } from './fields.js';

export const MAC_BYTES = 8;

/** X9.19 retail MAC of `messageBytesWithoutMac` under the 16-byte MAC key. */
export function macOf(messageBytesWithoutMac: Buffer, key16: Buffer): Buffer {
  assertKey(key16, DOUBLE_KEY_BYTES, 'MAC key');
  const left = key16.subarray(0, DES_BLOCK_BYTES);
  const right = key16.subarray(DES_BLOCK_BYTES);
  const blocks = Math.max(1, Math.ceil(messageBytesWithoutMac.length / DES_BLOCK_BYTES));
  const padded = Buffer.alloc(blocks * DES_BLOCK_BYTES);
  messageBytesWithoutMac.copy(padded);
  const chained = desEncryptCbc(left, padded).subarray(-DES_BLOCK_BYTES);
  return desEncryptEcb(left, desDecryptEcb(right, chained));
}

/** Bytes the MAC field's data takes on the wire in `dialect` (raw, or two hex characters a byte). */
function macWidth(dialect: Dialect): number {
  return DIALECTS[dialect].binary === 'raw' ? MAC_BYTES : MAC_BYTES * 2;
}

function macFieldOf(fieldNumbers: readonly number[]): 64 | 128 {
  return fieldNumbers.some((n) => n > 64) ? 128 : 64;
}

/**
 * Encodes `msg` with its MAC: any 64/128 given is replaced by the MAC computed under `key16`.
 * Throws `Iso8583Error` like `encode` for an invalid message or key.
 */
export function attachMac(msg: IsoMessage, dialect: Dialect, key16: Buffer): Buffer {
  assertKey(key16, DOUBLE_KEY_BYTES, 'MAC key');
  const fields: Record<string, string> = { ...msg.fields };
  delete fields['64'];
  delete fields['128'];
  const macField = macFieldOf(Object.keys(fields).map(Number));
  fields[String(macField)] = '0'.repeat(MAC_BYTES * 2);
  const encoded = encode({ mti: msg.mti, fields }, dialect);
  const covered = encoded.subarray(0, encoded.length - macWidth(dialect));
  const mac = macOf(covered, key16);
  const macBytes =
    DIALECTS[dialect].binary === 'raw' ? mac : Buffer.from(mac.toString('hex').toUpperCase(), 'latin1');
  return Buffer.concat([covered, macBytes]);
}

/**
 * True when `bytes` is a well-formed message of `dialect` whose MAC field (64, or 128 with a
 * secondary bitmap) holds the X9.19 MAC of everything before it under `key16`. A malformed message,
 * a missing MAC, or a field 64 next to a secondary bitmap is false.
 */
export function verifyMac(bytes: Buffer, dialect: Dialect, key16: Buffer): boolean {
  assertKey(key16, DOUBLE_KEY_BYTES, 'MAC key');
  const decoded = decode(bytes, dialect);
  if (!decoded.ok) return false;
  const numbers = Object.keys(decoded.message.fields).map(Number);
  const macField = macFieldOf(numbers);
  if (macField === 128 && numbers.includes(64)) return false;
  if (decoded.message.fields[String(macField)] === undefined) return false;
  // Compare the MAC field's bytes as sent with their one canonical encoding (raw, or UPPERCASE hex
  // in ascii87), so a message differing in any byte — even only in hex letter case — fails.
  const width = macWidth(dialect);
  const mac = macOf(bytes.subarray(0, bytes.length - width), key16);
  const expected =
    DIALECTS[dialect].binary === 'raw' ? mac : Buffer.from(mac.toString('hex').toUpperCase(), 'latin1');
  const received = bytes.subarray(bytes.length - width);
  return received.length === expected.length && timingSafeEqual(expected, received);
}
