import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { appendAudit } from '../../src/store/audit.js';
import { storeTargets } from '../support/stores.js';
import { type Client, DEMO, signIn, startTestSystem, type TestSystem } from '../support/system.js';

/** Issue 9, defect 8: safe defaults. */
const sqlite = storeTargets.filter((t) => t.name === 'sqlite');

describe.each(sqlite)('safe defaults on $name', (target) => {
  let sys: TestSystem;
  let admin: Client;
  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl());
    admin = await signIn(sys.base, '99', '12345678');
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('keeps the SQLite ledger readable by its owner only', () => {
    const file = sys.url.slice('sqlite:'.length);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("counts only the caller's merchant in the audit verification", async () => {
    const before = (await admin.call('GET', '/v1/audit/verify')).body;
    expect(before.ok).toBe(true);
    await sys.ctx.store.tx((trx) =>
      appendAudit(trx, {
        merchantId: 'another-merchant',
        actor: 'system',
        action: 'test.other',
        entity: 'merchant',
        entityId: 'another-merchant',
        data: {},
        at: new Date(),
      }),
    );
    const after = (await admin.call('GET', '/v1/audit/verify')).body;
    expect(after).toEqual({ ok: true, entries: before.entries });
    const mine = await sys.ctx.store.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('merchant_id', '=', DEMO.merchantId)
      .executeTakeFirstOrThrow();
    expect(after.entries).toBe(Number(mine.n));
  });

  it('listens on this machine only in the demo, on every interface when pointed at a real network', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ NETWORK: 'host' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });
});
