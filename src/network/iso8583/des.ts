/**
 * DES and double-length triple DES primitives on node:crypto, for the MAC and key helpers.
 *
 * Node 20 ships OpenSSL 3, whose default provider has no single DES (`des-ecb` fails with
 * "unsupported"). Single DES with key K equals EDE triple DES with K‖K‖K (E_K ∘ D_K ∘ E_K = E_K),
 * so single DES is done as `des-ede3` with the key repeated; 2-key triple DES K_L‖K_R is
 * `des-ede3` with K_L‖K_R‖K_L. No padding anywhere: callers hand in whole 8-byte blocks.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { Iso8583Error } from './errors.js';

export const DES_BLOCK_BYTES = 8;
export const DOUBLE_KEY_BYTES = 16;

function run(decrypt: boolean, algorithm: string, key24: Buffer, iv: Buffer | null, data: Buffer): Buffer {
  const cipher = decrypt ? createDecipheriv(algorithm, key24, iv) : createCipheriv(algorithm, key24, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function assertKey(key: Buffer, bytes: number, what: string): void {
  if (!Buffer.isBuffer(key) || key.length !== bytes) {
    // The message names the expected size only: key material never goes into errors or logs.
    throw new Iso8583Error('invalid_key', 'key', `${what} must be ${bytes} bytes`);
  }
}

function assertBlocks(data: Buffer): void {
  if (data.length % DES_BLOCK_BYTES !== 0) {
    throw new Iso8583Error('invalid_value', 'input', `data must be whole ${DES_BLOCK_BYTES}-byte blocks`);
  }
}

function single(key8: Buffer): Buffer {
  assertKey(key8, DES_BLOCK_BYTES, 'single DES key');
  return Buffer.concat([key8, key8, key8]);
}

function double(key16: Buffer): Buffer {
  assertKey(key16, DOUBLE_KEY_BYTES, 'double-length key');
  return Buffer.concat([key16, key16.subarray(0, DES_BLOCK_BYTES)]);
}

export function desEncryptEcb(key8: Buffer, data: Buffer): Buffer {
  assertBlocks(data);
  return run(false, 'des-ede3', single(key8), null, data);
}

export function desDecryptEcb(key8: Buffer, data: Buffer): Buffer {
  assertBlocks(data);
  return run(true, 'des-ede3', single(key8), null, data);
}

/** Single DES in CBC mode with a zero IV: the last block of the result is the CBC-MAC. */
export function desEncryptCbc(key8: Buffer, data: Buffer): Buffer {
  assertBlocks(data);
  return run(false, 'des-ede3-cbc', single(key8), Buffer.alloc(DES_BLOCK_BYTES), data);
}

export function tdesEncryptEcb(key16: Buffer, data: Buffer): Buffer {
  assertBlocks(data);
  return run(false, 'des-ede3', double(key16), null, data);
}

export function tdesDecryptEcb(key16: Buffer, data: Buffer): Buffer {
  assertBlocks(data);
  return run(true, 'des-ede3', double(key16), null, data);
}
