import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedSecrets, readRingFile, secretsFilePath } from '../../src/key-ring.js';
import {
  cardToken,
  cardTokenCandidates,
  KeyRingError,
  makeKeyRing,
  type Secrets,
  seal,
  sealedKeyId,
  unseal,
} from '../../src/security.js';
import { resealAll } from '../../src/service/keys.js';
import { keysCommand } from '../../src/service/keys-command.js';
import type { Store } from '../../src/store/db.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';
import { startChild } from './support/processes.js';

/**
 * Issue 9, defect 9: the data and card-token keys rotate without downtime. A server started before
 * `keys rotate` seals new values under the new key without a restart, rows sealed before stay
 * readable and are re-sealed in the background (by several re-sealers at once, while writes go
 * on), an old key is retired only once no row uses it, and card tokens from before still match.
 */

const PAN = testPan('622202100007777');
const OTHER_PAN = testPan('622202100008888');
const RELOAD_MS = 100;

// biome-ignore lint/suspicious/noExplicitAny: command output is checked field by field
type Json = any;

describe.each(storeTargets)('key rotation on $name', (target) => {
  let url: string;
  let dataDir: string;
  let sys: TestSystem;
  let cashier: Client;
  /** The clock the `keys` commands see (retire's grace is measured by it). */
  let cliNow = () => new Date();

  const env = () => ({
    DATABASE_URL: url,
    DATA_DIR: dataDir,
    KEY_RELOAD_INTERVAL_MS: String(RELOAD_MS),
    LOG_LEVEL: 'silent',
  });
  const keys = async (...argv: string[]): Promise<{ code: number; out: Json; err: string }> => {
    let out = '';
    let err = '';
    const code = await keysCommand(argv, {
      env: env(),
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
      clock: () => cliNow(),
      // In this process, through the server's own store (one SQLite connection, see support/processes.ts).
      store: sys.ctx.store,
    });
    return { code, out: out ? JSON.parse(out) : null, err };
  };
  /** The rings as a process that has not reloaded since: only the keys named. */
  const lagging = (dataIds: string[]): Secrets => {
    const file = readRingFile(secretsFilePath(dataDir));
    const pick = (ks: { id: string; key: string }[], ids: string[]) =>
      ks.filter((k) => ids.includes(k.id)).map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64') }));
    return new FixedSecrets(
      makeKeyRing(pick(file.data.keys, dataIds), 'data'),
      makeKeyRing(pick(file.token.keys, ['k1']), 'token'),
    );
  };
  const currentDataKey = () => sys.ctx.secrets.data.keys.at(-1)?.id;

  const sale = async (pan: string) => {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('ROT'),
      amount: 50_000,
      currency: 'CNY',
      method: 'card',
      card: { pan, expiry: '2912' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };
  const refund = async (paymentId: string, phone: string) => {
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId,
      amount: 1_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
      consumer: { name: '赵六', phone },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };
  const sendVoucher = async (refundId: string, email: string) => {
    const r = await cashier.call('POST', `/v1/refunds/${refundId}/receipt/send`, { email });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.data[0].id as string;
  };
  const consumerEnc = async (id: string) =>
    (
      await sys.ctx.store.db
        .selectFrom('refunds')
        .select('consumer_enc')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).consumer_enc as string;
  const destinationEnc = async (id: string) =>
    (
      await sys.ctx.store.db
        .selectFrom('receipt_sends')
        .select('destination_enc')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).destination_enc;
  const tokenOf = async (paymentId: string) =>
    (
      await sys.ctx.store.db
        .selectFrom('payments')
        .select('card_token')
        .where('id', '=', paymentId)
        .executeTakeFirstOrThrow()
    ).card_token as string;
  /** Every sealed value in the store, by column and row id. */
  const sealedRows = async (): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    const refunds = await sys.ctx.store.db.selectFrom('refunds').select(['id', 'consumer_enc']).execute();
    for (const r of refunds) if (r.consumer_enc) out.set(`refunds:${r.id}`, r.consumer_enc);
    const sends = await sys.ctx.store.db
      .selectFrom('receipt_sends')
      .select(['id', 'destination_enc'])
      .execute();
    for (const s of sends) out.set(`receipt_sends:${s.id}`, s.destination_enc);
    return out;
  };
  const byKey = (rows: Map<string, string>) => {
    const counts: Record<string, number> = {};
    for (const v of rows.values()) counts[sealedKeyId(v)] = (counts[sealedKeyId(v)] ?? 0) + 1;
    return counts;
  };
  /** Rows a process that had not reloaded the ring writes: copies of a voucher send under an old key. */
  const insertSends = async (store: Store, secrets: Secrets, refundId: string, prefix: string, n: number) => {
    const plain = new Map<string, string>();
    const row = await store.db
      .selectFrom('receipt_sends')
      .selectAll()
      .where('id', '=', sendBefore)
      .executeTakeFirstOrThrow();
    for (let i = 0; i < n; i++) {
      const id = `rs_${prefix}${String(i).padStart(4, '0')}`;
      const to = `user${prefix}${i}@example.com`;
      plain.set(`receipt_sends:${id}`, to);
      await store.db
        .insertInto('receipt_sends')
        .values({ ...row, id, refund_id: refundId, destination_enc: seal(secrets, to), status: 'failed' })
        .execute();
    }
    return plain;
  };
  /** Copies of a refund row with their own consumers, as rows written before a rotation. */
  const insertRefunds = async (secrets: Secrets, fromId: string, prefix: string, n: number) => {
    const plain = new Map<string, string>();
    const row = await sys.ctx.store.db
      .selectFrom('refunds')
      .selectAll()
      .where('id', '=', fromId)
      .executeTakeFirstOrThrow();
    for (let i = 0; i < n; i++) {
      const id = `re_${prefix}${String(i).padStart(4, '0')}`;
      const consumer = JSON.stringify({ name: `客户${i}`, phone: `1390000${String(i).padStart(4, '0')}` });
      plain.set(`refunds:${id}`, consumer);
      await sys.ctx.store.db
        .insertInto('refunds')
        .values({ ...row, id, status: 'canceled', consumer_enc: seal(secrets, consumer) })
        .execute();
    }
    return plain;
  };

  let saleBefore: string;
  let refundBefore: string;
  let sendBefore: string;

  beforeAll(async () => {
    url = await target.freshUrl();
    dataDir = mkdtempSync(join(tmpdir(), 'refund-desk-rotation-'));
    // This server does not re-seal by itself: the tests say when re-sealing happens.
    sys = await startTestSystem(url, { dataDir, keyReloadIntervalMs: RELOAD_MS, keyResealIntervalMs: 0 });
    cashier = await signIn(sys.base, '01', '1111');
    saleBefore = await sale(PAN);
    refundBefore = await refund(saleBefore, '13911112222');
    sendBefore = await sendVoucher(refundBefore, 'before@example.com');
  });
  afterAll(async () => {
    await sys?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a server started before `keys rotate` seals and tokenises new writes under the new keys, without restart', async () => {
    expect(await consumerEnc(refundBefore)).toMatch(/^v2\.k1\./);
    expect(await destinationEnc(sendBefore)).toMatch(/^v2\.k1\./);
    expect(await tokenOf(saleBefore)).toMatch(/^tok_k1_/);

    const rotated = await keys('rotate', '--all');
    expect(rotated.code, rotated.err).toBe(0);
    expect(rotated.out).toEqual({ added: { data: 'k2', token: 'k2' } });
    expect(JSON.stringify(rotated.out)).not.toContain(
      readRingFile(secretsFilePath(dataDir)).data.keys[1]?.key,
    );
    expect(statSync(secretsFilePath(dataDir)).mode & 0o777).toBe(0o600);

    const started = Date.now();
    await until(
      async () => currentDataKey(),
      (id) => id === 'k2',
      5_000,
    );
    expect(Date.now() - started).toBeLessThan(5 * RELOAD_MS + 1_000);

    const saleAfter = await sale(PAN);
    const refundAfter = await refund(saleAfter, '13933334444');
    const sendAfter = await sendVoucher(refundAfter, 'after@example.com');
    expect(await consumerEnc(refundAfter)).toMatch(/^v2\.k2\./);
    expect(await destinationEnc(sendAfter)).toMatch(/^v2\.k2\./);
    expect(await tokenOf(saleAfter)).toMatch(/^tok_k2_/);
    // The worker delivers under the new key too.
    await until(
      async () => (await cashier.call('GET', `/v1/refunds/${refundAfter}/receipt/sends`)).body.data,
      (d: { status: string }[]) => d.length === 1 && d[0]?.status === 'sent',
    );
  });

  it('rows written before the rotation stay readable', async () => {
    expect(JSON.parse(unseal(sys.ctx.secrets, await consumerEnc(refundBefore)))).toEqual({
      name: '赵六',
      phone: '13911112222',
    });
    expect(unseal(sys.ctx.secrets, await destinationEnc(sendBefore))).toBe('before@example.com');
    // A voucher sent again for the old refund, and the old refund itself, go through as usual.
    const r = await cashier.call('GET', `/v1/refunds/${refundBefore}`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('succeeded');
  });

  it('card tokens from before the rotation still match the card', async () => {
    const candidates = cardTokenCandidates(sys.ctx.secrets, PAN);
    const found = await sys.ctx.store.db
      .selectFrom('payments')
      .select(['id', 'card_token'])
      .where('card_token', 'in', candidates)
      .execute();
    expect(found.map((p) => p.id)).toContain(saleBefore);
    expect(found.map((p) => p.card_token)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^tok_k1_/), expect.stringMatching(/^tok_k2_/)]),
    );
    const other = await sys.ctx.store.db
      .selectFrom('payments')
      .select('id')
      .where('card_token', 'in', cardTokenCandidates(sys.ctx.secrets, OTHER_PAN))
      .execute();
    expect(other).toEqual([]);
    // The payment tokenised before the rotation is refunded as any other.
    const refundId = await refund(saleBefore, '13955556666');
    await until(
      async () => (await cashier.call('GET', `/v1/refunds/${refundId}`)).body.status,
      (s) => s === 'succeeded',
    );
  });

  it('keys status counts the rows under each key id', async () => {
    const rows = await sealedRows();
    const status = await keys('status');
    expect(status.code, status.err).toBe(0);
    expect(status.out.source).toBe('file');
    expect(status.out.data.current).toBe('k2');
    const total = (id: string) => status.out.data.keys.find((k: Json) => k.id === id)?.total;
    expect({ k1: total('k1'), k2: total('k2') }).toEqual({
      k1: byKey(rows).k1 ?? 0,
      k2: byKey(rows).k2 ?? 0,
    });
    expect(status.out.data.other).toEqual({ 'refunds.consumer_enc': 0, 'receipt_sends.destination_enc': 0 });
    const tokens = await sys.ctx.store.db.selectFrom('payments').select('card_token').execute();
    const under = (p: string) => tokens.filter((t) => t.card_token?.startsWith(p)).length;
    expect(status.out.token.keys.map((k: Json) => [k.id, k.total])).toEqual([
      ['k1', under('tok_k1_')],
      ['k2', under('tok_k2_')],
    ]);
    expect(under('tok_k2_')).toBeGreaterThan(0);
  });

  it('tampered ciphertext fails to unseal, and the re-seal leaves it as it is', async () => {
    const original = await consumerEnc(refundBefore);
    const parts = original.split('.');
    const body = parts[3] as string;
    const tampered = [...parts.slice(0, 3), `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`, parts[4]].join(
      '.',
    );
    await sys.ctx.store.db
      .updateTable('refunds')
      .set({ consumer_enc: tampered })
      .where('id', '=', refundBefore)
      .execute();
    try {
      expect(() => unseal(sys.ctx.secrets, tampered)).toThrow(KeyRingError);
      const report = await resealAll({ store: sys.ctx.store, secrets: sys.ctx.secrets });
      expect(report.failed).toEqual([
        { column: 'refunds.consumer_enc', id: refundBefore, code: 'unseal_failed' },
      ]);
      expect(await consumerEnc(refundBefore)).toBe(tampered);
      const cli = await keys('reseal');
      expect(cli.code).toBe(3);
      expect(cli.out.failed).toHaveLength(1);
    } finally {
      await sys.ctx.store.db
        .updateTable('refunds')
        .set({ consumer_enc: original })
        .where('id', '=', refundBefore)
        .execute();
    }
  });

  it('the re-seal moves every row to the new key without changing its plaintext, with writes going on and two re-sealers at once', {
    timeout: 90_000,
  }, async () => {
    // Rows from before the rotation: re-sealed above except the tampered one, so write more.
    const oldRing = lagging(['k1']);
    const plain = new Map<string, string>();
    for (const [k, v] of await insertRefunds(oldRing, refundBefore, 'old', 60)) plain.set(k, v);
    for (const [k, v] of await insertSends(sys.ctx.store, oldRing, refundBefore, 'old', 150)) plain.set(k, v);
    for (const [k, v] of await sealedRows()) if (!plain.has(k)) plain.set(k, unseal(sys.ctx.secrets, v));
    const oldRows = byKey(await sealedRows()).k1 ?? 0;
    expect(oldRows).toBeGreaterThanOrEqual(211);
    const refundsBefore = await sys.ctx.store.db.selectFrom('refunds').select(['id', 'updated_at']).execute();

    // Two re-sealers, each a process of its own with its own store connection and ring.
    const go = join(dataDir, `go-${Date.now()}`);
    const resealers = [0, 1].map(() =>
      startChild(['test/security/support/resealer.ts'], { ...env(), GO_FILE: go, BATCH_ROWS: '10' }),
    );
    await Promise.all(resealers.map((r) => r.waitFor('ready')));
    writeFileSync(go, '');
    let writing = true;
    const writes = (async () => {
      // New writes through the API (current key) and from a process still on the old ring.
      let n = 0;
      while (writing || n < 3) {
        const phone = `1397777${String(n).padStart(4, '0')}`;
        const refundId = await refund(await sale(OTHER_PAN), phone);
        plain.set(`refunds:${refundId}`, JSON.stringify({ name: '赵六', phone }));
        for (const [k, v] of await insertSends(sys.ctx.store, oldRing, refundId, `lag${n}x`, 5))
          plain.set(k, v);
        n++;
      }
      return n;
    })();
    const codes = await Promise.all(resealers.map((r) => r.exited()));
    writing = false;
    const written = await writes;
    expect(codes, resealers.map((r) => r.output()).join('\n')).toEqual([0, 0]);
    const reports = resealers.map(
      (r) =>
        JSON.parse(r.output().split('report ')[1] as string) as {
          resealed: number;
          failed: unknown[];
          startedAt: number;
          endedAt: number;
        },
    );
    expect(written).toBeGreaterThanOrEqual(3);
    expect(reports.every((r) => r.failed.length === 0)).toBe(true);
    // The two ran at the same time.
    const [a, b] = reports as [(typeof reports)[0], (typeof reports)[0]];
    expect(Math.max(a.startedAt, b.startedAt)).toBeLessThan(Math.min(a.endedAt, b.endedAt));

    // Rows the lagging process wrote after the re-sealers passed them: one more run takes them.
    const last = await keys('reseal');
    expect(last.code, last.err).toBe(0);
    // Every old row was re-sealed exactly once, by one re-sealer or the other.
    const resealed = a.resealed + b.resealed + last.out.resealed;
    expect(resealed).toBe(oldRows + 5 * written);
    const rows = await sealedRows();
    expect(byKey(rows)).toEqual({ k2: rows.size });
    for (const [k, v] of rows) expect(unseal(sys.ctx.secrets, v), k).toBe(plain.get(k));
    expect(rows.size).toBe(plain.size);
    // Re-sealing changes no fact about a refund: updated_at as it was.
    const refundsAfter = await sys.ctx.store.db.selectFrom('refunds').select(['id', 'updated_at']).execute();
    for (const r of refundsBefore)
      expect(refundsAfter.find((a) => a.id === r.id)?.updated_at, r.id).toBe(r.updated_at);
    const status = await keys('status');
    expect(status.out.data.keys.find((k: Json) => k.id === 'k1')?.total).toBe(0);
  });

  it('the worker re-seals in the background after a rotation it picks up by itself', {
    timeout: 90_000,
  }, async () => {
    // `refund-desk worker` as a process of its own, with the background re-seal on, started before the rotation.
    const worker = startChild(['src/cli.ts', 'worker'], {
      ...env(),
      NETWORK: 'in-process',
      LOG_LEVEL: 'info',
      KEY_RESEAL_INTERVAL_MS: '20',
    });
    try {
      await worker.waitFor('outbox worker running');
      const rotated = await keys('rotate', '--data');
      expect(rotated.out).toEqual({ added: { data: 'k3' } });
      const rows = await until(
        async () => byKey(await sealedRows()),
        (counts) => Object.keys(counts).length === 1 && (counts.k3 ?? 0) > 0,
        20_000,
      );
      expect(rows.k3).toBe((await sealedRows()).size);
      for (const v of (await sealedRows()).values()) expect(() => unseal(sys.ctx.secrets, v)).not.toThrow();
      // It says so, naming the key id and never a key.
      await worker.waitFor('every sealed value is under the current key');
      expect(worker.output()).not.toContain(readRingFile(secretsFilePath(dataDir)).data.keys[2]?.key);
    } finally {
      expect(await worker.stop(), worker.output()).toBe(0);
    }
  });

  it('retire refuses the current key, a key replaced moments ago and a key rows still use; it succeeds after', async () => {
    await until(
      async () => currentDataKey(),
      (id) => id === 'k3',
      5_000,
    );
    const current = await keys('retire', 'k3');
    expect([current.code, current.err]).toEqual([3, expect.stringContaining('key_is_current')]);
    const k3 = readRingFile(secretsFilePath(dataDir)).data.keys.find((k) => k.id === 'k3');
    cliNow = () => new Date(Date.parse(k3?.createdAt as string) + RELOAD_MS);
    const tooSoon = await keys('retire', 'k2');
    expect([tooSoon.code, tooSoon.err]).toEqual([3, expect.stringContaining('key_replaced_too_recently')]);

    // Later: a row still under k2 (written by a process that had not reloaded) keeps k2.
    cliNow = () => new Date(Date.now() + 60_000);
    const stray = await insertSends(sys.ctx.store, lagging(['k2']), refundBefore, 'stray', 1);
    const inUse = await keys('retire', 'k2');
    expect([inUse.code, inUse.err]).toEqual([3, expect.stringContaining('key_in_use')]);
    expect(readRingFile(secretsFilePath(dataDir)).data.keys.map((k) => k.id)).toEqual(['k1', 'k2', 'k3']);

    expect((await keys('reseal')).code).toBe(0);
    for (const id of ['k2', 'k1']) {
      const retired = await keys('retire', id);
      expect(retired.code, retired.err).toBe(0);
      expect(retired.out).toEqual({ retired: { purpose: 'data', id } });
    }
    const file = readRingFile(secretsFilePath(dataDir));
    expect(file.data.keys.map((k) => k.id)).toEqual(['k3']);
    expect(file.data.retired.map((r) => r.id)).toEqual(['k2', 'k1']);
    expect(statSync(secretsFilePath(dataDir)).mode & 0o777).toBe(0o600);
    // The running server drops them too, and still reads everything.
    await until(
      async () => sys.ctx.secrets.data.keys.length,
      (n) => n === 1,
      5_000,
    );
    for (const [k, v] of await sealedRows()) expect(() => unseal(sys.ctx.secrets, v), k).not.toThrow();
    const [strayId] = [...stray.keys()];
    expect(unseal(sys.ctx.secrets, await destinationEnc(strayId?.split(':')[1] as string))).toBe(
      [...stray.values()][0],
    );
    // A value under a retired key is no longer readable.
    expect(() => unseal(sys.ctx.secrets, seal(lagging(['k3']), 'x').replace('v2.k3.', 'v2.k2.'))).toThrow(
      /no data key k2/,
    );
    const status = await keys('status');
    expect(status.out.data.keys.map((k: Json) => k.id)).toEqual(['k3']);
    expect(status.out.data.retired.map((k: Json) => k.id)).toEqual(['k2', 'k1']);
  });

  it('a token key is retired only once no payment carries a token made under it', async () => {
    cliNow = () => new Date();
    expect((await keys('rotate', '--token')).out).toEqual({ added: { token: 'k3' } });
    expect((await keys('rotate', '--token')).out).toEqual({ added: { token: 'k4' } });
    cliNow = () => new Date(Date.now() + 60_000);
    const old = await keys('retire', 'k1', '--token');
    expect([old.code, old.err]).toEqual([3, expect.stringContaining('key_in_use')]);
    const unused = await keys('retire', 'k3', '--token');
    expect(unused.code, unused.err).toBe(0);
    await until(
      async () => sys.ctx.secrets.token.keys.map((k) => k.id).join(),
      (ids) => ids === 'k1,k2,k4',
    );
    // The card still matches its payments from under k1 and k2, and new ones are made under k4.
    expect(cardToken(sys.ctx.secrets, PAN)).toMatch(/^tok_k4_/);
    const found = await sys.ctx.store.db
      .selectFrom('payments')
      .select('id')
      .where('card_token', 'in', cardTokenCandidates(sys.ctx.secrets, PAN))
      .execute();
    expect(found.map((p) => p.id)).toContain(saleBefore);
  });

  it('the refund-desk command line runs `keys status`, and refuses an unknown option', {
    timeout: 90_000,
  }, async () => {
    const status = startChild(['src/cli.ts', 'keys', 'status'], env());
    expect(await status.exited(), status.output()).toBe(0);
    const out = JSON.parse(status.output());
    expect(out.data.current).toBe('k3');
    expect(out.token.current).toBe('k4');
    const bad = startChild(['src/cli.ts', 'keys', 'rotate', '--everything'], env());
    expect(await bad.exited()).toBe(2);
    expect(bad.output()).toContain('unknown option --everything');
  });
});
