/**
 * Issue 8, items 6 and 7: `GET /v1/health` (anonymous) reports the card link from its cached
 * state instead of sending an echo, with a trace number, per call; and it tells the truth about
 * working keys that the host does not accept.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storeTargets } from '../../support/stores.js';
import {
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  type TestSystem,
  testPan,
} from '../../support/system.js';
import { foreignSignIn } from './support.js';

const PAN = testPan('622202100006666');

describe.each(storeTargets)('card link health on $name', (target) => {
  let sys: TestSystem | null = null;
  afterEach(async () => {
    await sys?.close();
    sys = null;
  });

  const start = async () => {
    sys = await startTestSystem(await target.freshUrl(), {
      network: 'sim',
      dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-health-')),
    });
    return sys;
  };

  it('answers 300 health checks without taking a trace number or sending an echo each', async () => {
    const s = await start();
    const stan = async () =>
      (
        await s.ctx.store.db
          .selectFrom('terminals')
          .select('stan')
          .where('id', '=', DEMO.terminalId)
          .executeTakeFirstOrThrow()
      ).stan;
    expect((await call(s.base, 'GET', '/v1/health')).body).toMatchObject({ network: 'up', link: 'up' });
    const before = { stan: await stan(), echoes: s.simulator?.received()['0820'] ?? 0 };
    for (let i = 0; i < 30; i++) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => call(s.base, 'GET', '/v1/health')));
      for (const h of batch) expect(h.body.network).toBe('up');
    }
    // At most one echo falls due while they run (one per LINK_ECHO_INTERVAL_MS).
    expect((await stan()) - before.stan).toBeLessThanOrEqual(1);
    expect((s.simulator?.received()['0820'] ?? 0) - before.echoes).toBeLessThanOrEqual(1);
  });

  it('shows the link not up while the terminal has no working key the host accepts', async () => {
    const s = await start();
    const sim = s.simulator;
    if (!sim) throw new Error('the simulator runs in this suite');
    // The host now holds another master key for the terminal, and someone signs it in: our key is
    // stale and no sign-in of ours can produce one that checks out.
    sim.ledger.db
      .prepare('update terminals set tmk = ? where id = ?')
      .run('00112233445566778899AABBCCDDEEFF', DEMO.terminalId);
    await foreignSignIn(sim);
    const cashier = await signIn(s.base, '01', '1111');
    for (const amount of [1_001, 1_002]) {
      const paid = await cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('KEY'),
        amount,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN, expiry: '2912' },
      });
      expect(paid.status).toBe(503);
    }
    const h = await call(s.base, 'GET', '/v1/health');
    expect(h.body.store).toBe('ok');
    expect(h.body.network).toBe('down');
    // Connected, but unable to transact until the keys check out: said in words of its own.
    expect(h.body.link).toBe('degraded');
    const effects = (await call(`http://127.0.0.1:${sim.controlPort}`, 'GET', '/ledger')).body.effects;
    expect(effects.filter((e: { amount: number }) => e.amount === 1_001 || e.amount === 1_002)).toEqual([]);
  });
});
