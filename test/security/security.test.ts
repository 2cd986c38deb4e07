import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRingFileIfMissing,
  envRings,
  FileSecrets,
  nextKeyId,
  openSecrets,
  parseEnvRing,
  readRingFile,
  retireFromRingFile,
  rotateRingFile,
  secretsFilePath,
} from '../../src/key-ring.js';
import {
  cardToken,
  cardTokenCandidates,
  cardTokenKeyId,
  cardTokenMatches,
  KeyRingError,
  makeKeyRing,
  type RingKey,
  reseal,
  type Secrets,
  seal,
  sealedKeyId,
  unseal,
} from '../../src/security.js';
import { keysCommand } from '../../src/service/keys-command.js';
import { migrate, openStore } from '../../src/store/db.js';

const K1: RingKey = { id: 'k1', key: randomBytes(32) };
const K2: RingKey = { id: 'k2', key: randomBytes(32) };
const T1: RingKey = { id: 'k1', key: randomBytes(32) };
const T2: RingKey = { id: 'k2', key: randomBytes(32) };
const PAN = '6222021000012345678';

function secrets(data: RingKey[], token: RingKey[] = [T1]): Secrets {
  return { data: makeKeyRing(data, 'data'), token: makeKeyRing(token, 'token') };
}

/** A value as the code before key rings wrote it: `v1.<iv>.<body>.<tag>`, no additional data. */
function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

/** A token as the code before key rings made it: `tok_` + 32 characters. */
function legacyToken(key: Buffer, pan: string): string {
  return `tok_${createHmac('sha256', key).update(pan).digest('base64url').slice(0, 32)}`;
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof KeyRingError ? err.code : String(err);
  }
};

describe('sealing under a key ring', () => {
  it('seals under the current (last) key and names it', () => {
    const before = secrets([K1]);
    const after = secrets([K1, K2]);
    expect(seal(before, '张三')).toMatch(/^v2\.k1\./);
    const sealed = seal(after, '张三');
    expect(sealed).toMatch(/^v2\.k2\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealedKeyId(sealed)).toBe('k2');
    expect(unseal(after, sealed)).toBe('张三');
    expect(unseal(after, seal(after, ''))).toBe('');
  });

  it('reads values sealed before rotation by their key id, and v1 values as key k1', () => {
    const old = seal(secrets([K1]), '13912348765');
    const v1 = sealV1(K1.key, 'zhang@example.com');
    const ring = secrets([K1, K2]);
    expect(unseal(ring, old)).toBe('13912348765');
    expect(sealedKeyId(v1)).toBe('k1');
    expect(unseal(ring, v1)).toBe('zhang@example.com');
  });

  it('refuses a value under a key the ring does not hold, after asking the source to refresh once', () => {
    const value = seal(secrets([K1, K2]), 'x');
    let refreshed = 0;
    const s: Secrets = { ...secrets([K1]), refresh: () => refreshed++ };
    expect(codeOf(() => unseal(s, value))).toBe('unknown_key');
    expect(refreshed).toBe(1);
  });

  it('finds a key another process just added when the refresh brings it', () => {
    const value = seal(secrets([K1, K2]), 'fresh');
    let ring = makeKeyRing([K1], 'data');
    const s: Secrets = {
      get data() {
        return ring;
      },
      token: makeKeyRing([T1], 'token'),
      refresh: () => {
        ring = makeKeyRing([K1, K2], 'data');
      },
    };
    expect(unseal(s, value)).toBe('fresh');
  });

  it('fails on tampered ciphertext, tag, iv or key id, and on malformed values', () => {
    const ring = secrets([K1, K2]);
    const sealed = seal(ring, '6222 0210 0001 2345');
    const parts = sealed.split('.');
    const flip = (s: string) => `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    const tampered = [
      [parts[0], parts[1], parts[2], flip(parts[3] as string), parts[4]],
      [parts[0], parts[1], parts[2], parts[3], flip(parts[4] as string)],
      [parts[0], parts[1], flip(parts[2] as string), parts[3], parts[4]],
      // Relabelled to another live key: the header is authenticated too.
      [parts[0], 'k1', parts[2], parts[3], parts[4]],
    ].map((p) => p.join('.'));
    for (const t of tampered)
      expect(
        codeOf(() => unseal(ring, t)),
        t,
      ).toBe('unseal_failed');
    const v1 = sealV1(K1.key, 'legacy');
    const v1Parts = v1.split('.');
    expect(
      codeOf(() => unseal(ring, [v1Parts[0], v1Parts[1], flip(v1Parts[2] as string), v1Parts[3]].join('.'))),
    ).toBe('unseal_failed');
    for (const bad of ['', 'v1.a.b', 'v3.k1.a.b.c', 'v2.K1.a.b.c', sealed.slice(0, -3), 'plain text'])
      expect(
        codeOf(() => unseal(ring, bad)),
        bad,
      ).toBe('malformed_value');
  });

  it('re-seals under the current key with a fresh IV and the same plaintext; leaves current values alone', () => {
    const old = seal(secrets([K1]), '李四');
    const ring = secrets([K1, K2]);
    const again = reseal(ring, old);
    expect(again).toMatch(/^v2\.k2\./);
    expect(unseal(ring, again as string)).toBe('李四');
    expect(reseal(ring, again as string)).toBeNull();
    const v1 = sealV1(K1.key, 'legacy');
    expect(reseal(secrets([K1]), v1)).toMatch(/^v2\.k1\./);
  });

  it('refuses rings that are empty, have bad or repeated ids, or short keys', () => {
    const code = (keys: RingKey[]) => codeOf(() => makeKeyRing(keys, 'data'));
    expect(code([])).toBe('invalid_key_ring');
    expect(code([{ id: 'k_1', key: randomBytes(32) }])).toBe('invalid_key_ring');
    expect(code([{ id: 'K1', key: randomBytes(32) }])).toBe('invalid_key_ring');
    expect(code([K1, { id: 'k1', key: randomBytes(32) }])).toBe('invalid_key_ring');
    expect(code([{ id: 'k1', key: randomBytes(16) }])).toBe('invalid_key_ring');
    expect(code([K1, K2])).toBe('ok');
  });
});

describe('card tokens under a key ring', () => {
  it('tokenises under the current key and names it', () => {
    const token = cardToken(secrets([K1], [T1, T2]), PAN);
    expect(token).toMatch(/^tok_k2_[A-Za-z0-9_-]{32}$/);
    expect(cardTokenKeyId(token)).toBe('k2');
    expect(cardTokenKeyId(legacyToken(T1.key, PAN))).toBe('k1');
    expect(cardTokenKeyId('tok_short')).toBeNull();
    expect(cardTokenKeyId('6222021000012345')).toBeNull();
  });

  it('matches tokens made before rotation, in both the labelled and the pre-ring form', () => {
    const before = secrets([K1], [T1]);
    const oldToken = cardToken(before, PAN);
    const preRing = legacyToken(T1.key, PAN);
    const after = secrets([K1], [T1, T2]);
    const newToken = cardToken(after, PAN);
    expect(newToken).not.toBe(oldToken);
    const candidates = cardTokenCandidates(after, PAN);
    expect(candidates).toEqual(expect.arrayContaining([oldToken, preRing, newToken]));
    expect(candidates).toHaveLength(3);
    for (const t of [oldToken, preRing, newToken]) expect(cardTokenMatches(after, PAN, t)).toBe(true);
    expect(cardTokenMatches(after, '6222021000099999', oldToken)).toBe(false);
    // Once its key is retired, an old token matches nothing: why token keys stay while rows use them.
    expect(cardTokenMatches(secrets([K1], [T2]), PAN, oldToken)).toBe(false);
  });
});

describe('the key ring file', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'refund-desk-ring-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('reads a version 1 file as one-key rings k1 and keeps those keys when it rotates', async () => {
    const d = dir();
    const path = secretsFilePath(d);
    const dataKey = randomBytes(32);
    const tokenKey = randomBytes(32);
    writeFileSync(
      path,
      JSON.stringify({ dataKey: dataKey.toString('base64'), tokenKey: tokenKey.toString('base64') }),
      { mode: 0o600 },
    );
    const v1 = sealV1(dataKey, '王五');
    const token = legacyToken(tokenKey, PAN);
    const s = openSecrets({ dataDir: d });
    expect(s.data.keys.map((k) => k.id)).toEqual(['k1']);
    expect(unseal(s, v1)).toBe('王五');
    expect(cardTokenMatches(s, PAN, token)).toBe(true);

    expect(await rotateRingFile(path, ['data', 'token'], new Date())).toEqual({ data: 'k2', token: 'k2' });
    s.refresh();
    expect(readRingFile(path).version).toBe(2);
    expect(s.data.keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(unseal(s, v1)).toBe('王五');
    expect(cardTokenMatches(s, PAN, token)).toBe(true);
    expect(seal(s, 'x')).toMatch(/^v2\.k2\./);
    // Written atomically: mode 600, no temporary or lock file left beside it.
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['secrets.json']);
    s.close();
  });

  it('creates a fresh file once, mode 600, and never replaces an existing one', () => {
    const d = dir();
    const path = secretsFilePath(d);
    createRingFileIfMissing(path, new Date());
    const first = readFileSync(path, 'utf8');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    createRingFileIfMissing(path, new Date());
    expect(readFileSync(path, 'utf8')).toBe(first);
    expect(readRingFile(path).data.keys.map((k) => k.id)).toEqual(['k1']);
    expect(readdirSync(d)).toEqual(['secrets.json']);
  });

  it('never gives a retired id to a new key', async () => {
    const d = dir();
    const path = secretsFilePath(d);
    createRingFileIfMissing(path, new Date());
    await rotateRingFile(path, ['data'], new Date());
    await rotateRingFile(path, ['data'], new Date());
    await retireFromRingFile(path, 'data', 'k3', new Date(), async () => undefined);
    const file = readRingFile(path);
    expect(file.data.keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(file.data.retired.map((r) => r.id)).toEqual(['k3']);
    expect(nextKeyId(file.data)).toBe('k4');
    expect(await rotateRingFile(path, ['data'], new Date())).toEqual({ data: 'k4' });
  });

  it('a running reader picks up a rotation; a broken file leaves its rings as they were', async () => {
    const d = dir();
    const path = secretsFilePath(d);
    createRingFileIfMissing(path, new Date());
    const errors: string[] = [];
    const s = new FileSecrets(path, (e) => errors.push(e.message));
    s.watch(20);
    await rotateRingFile(path, ['data'], new Date());
    const start = Date.now();
    while (s.data.keys.length < 2 && Date.now() - start < 2_000) await new Promise((r) => setTimeout(r, 10));
    expect(s.data.keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    const keyB64 = readRingFile(path).data.keys[1]?.key as string;
    // Broken just before a key: the parser's own message would quote its first characters.
    writeFileSync(path, `x"${keyB64}"`);
    s.refresh();
    expect(s.data.keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(errors).toHaveLength(1);
    expect(errors.join()).not.toContain(keyB64.slice(0, 8));
    s.close();
  });
});

describe('key rings from the environment', () => {
  const b64 = () => randomBytes(32).toString('base64');

  it('reads DATA_KEYS / TOKEN_KEYS oldest first with the last current, and DATA_KEY / TOKEN_KEY as k1', () => {
    const rings = envRings({ dataKeys: `k1:${b64()}, k2:${b64()}`, tokenKey: b64() });
    expect(rings?.data.keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(rings?.token.keys.map((k) => k.id)).toEqual(['k1']);
    const s = openSecrets({
      dataDir: '/nonexistent',
      dataKeys: `k1:${b64()},k2:${b64()}`,
      tokenKeys: `k7:${b64()}`,
    });
    expect(s.file).toBeNull();
    expect(seal(s, 'x')).toMatch(/^v2\.k2\./);
    expect(cardToken(s, PAN)).toMatch(/^tok_k7_/);
    expect(envRings({})).toBeNull();
  });

  it('`keys rotate` refuses rings from the environment and says how to rotate them; `keys status` reads them', async () => {
    const store = openStore('sqlite::memory:');
    await migrate(store);
    const env = { DATA_KEYS: `k1:${b64()},k2:${b64()}`, TOKEN_KEY: b64(), DATA_DIR: '/nonexistent' };
    const run = async (...argv: string[]) => {
      let out = '';
      let err = '';
      const code = await keysCommand(argv, {
        env,
        store,
        stdout: (t) => {
          out += t;
        },
        stderr: (t) => {
          err += t;
        },
      });
      return { code, out, err };
    };
    try {
      const rotate = await run('rotate');
      expect(rotate.code).toBe(3);
      expect(rotate.err).toContain('keys_from_env');
      expect(rotate.err).toContain('DATA_KEYS');
      const status = await run('status');
      expect(status.code, status.err).toBe(0);
      const out = JSON.parse(status.out);
      expect([out.source, out.data.current, out.token.current]).toEqual(['env', 'k2', 'k1']);
      expect(status.out).not.toContain(env.TOKEN_KEY);
      expect((await run('retire', 'k1')).err).toContain('keys_from_env');
    } finally {
      await store.close();
    }
  });

  it('refuses half a configuration, both forms at once, and malformed entries', () => {
    const code = (f: () => unknown) => codeOf(f);
    expect(code(() => envRings({ dataKey: b64() }))).toBe('invalid_key_ring');
    expect(code(() => envRings({ dataKey: b64(), dataKeys: `k1:${b64()}`, tokenKey: b64() }))).toBe(
      'invalid_key_ring',
    );
    expect(code(() => parseEnvRing('DATA_KEYS', b64()))).toBe('invalid_key_ring');
    expect(code(() => parseEnvRing('DATA_KEYS', `k1:${randomBytes(8).toString('base64')}`))).toBe(
      'invalid_key_ring',
    );
    expect(code(() => parseEnvRing('DATA_KEYS', `k1:${b64()},k1:${b64()}`))).toBe('invalid_key_ring');
  });
});
