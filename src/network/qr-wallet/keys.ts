import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * RSA-2048 key pairs for the QR wallet link, as PEM files in one directory:
 * `<name>.key.pem` (PKCS#8, mode 600) and `<name>.pub.pem` (SPKI, mode 644).
 * Created on first use; a second process racing to create the same pair gets the first one's
 * (the private key is published with link(2), which fails if the file already exists).
 * A private key file readable by group or others is refused, as ssh does.
 */

export interface RsaKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateKeyPem: string;
  publicKeyPem: string;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function generateRsaKeyPair(): RsaKeyPair {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
  });
  return fromPrivate(privateKey);
}

function fromPrivate(privateKey: KeyObject): RsaKeyPair {
  const publicKey = createPublicKey(privateKey);
  const details = privateKey.asymmetricKeyDetails;
  if (privateKey.asymmetricKeyType !== 'rsa' || (details?.modulusLength ?? 0) < 2048) {
    throw new Error('QR wallet keys must be RSA with at least 2048 bits');
  }
  return {
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Load `<dir>/<name>.key.pem`, creating the pair (and the directory, mode 700) if missing. */
export function loadOrCreateKeyPair(dir: string, name: string): RsaKeyPair {
  if (!NAME.test(name)) throw new Error(`key name must match ${NAME}, not ${JSON.stringify(name)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, `${name}.key.pem`);
  const pubPath = join(dir, `${name}.pub.pem`);
  if (!existsSync(keyPath)) {
    const fresh = generateRsaKeyPair();
    const tmp = `${keyPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, fresh.privateKeyPem, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, keyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
  }
  const mode = statSync(keyPath).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`${keyPath} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  const pair = fromPrivate(createPrivateKey(readFileSync(keyPath, 'utf8')));
  if (!existsSync(pubPath) || readFileSync(pubPath, 'utf8') !== pair.publicKeyPem) {
    writeFileSync(pubPath, pair.publicKeyPem, { mode: 0o644 });
    chmodSync(pubPath, 0o644);
  }
  return pair;
}

export function walletKeyPair(dir: string): RsaKeyPair {
  return loadOrCreateKeyPair(dir, 'wallet');
}

export function merchantKeyPair(dir: string, merchantId: string): RsaKeyPair {
  return loadOrCreateKeyPair(dir, `merchant-${merchantId}`);
}

/** A public key alone (what the other side is given), from `<dir>/<name>.pub.pem`. */
export function loadPublicKey(dir: string, name: string): KeyObject {
  if (!NAME.test(name)) throw new Error(`key name must match ${NAME}`);
  return createPublicKey(readFileSync(join(dir, `${name}.pub.pem`), 'utf8'));
}
