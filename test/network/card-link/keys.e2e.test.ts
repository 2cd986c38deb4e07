/**
 * Issue 8, items 6–8: the terminal's working keys and trace numbers against a real simulator over
 * TCP, judged by the simulator's own ledger. Two CardLinkPorts on one store stand for two API
 * processes (each has its own connection and memory; only the store is shared).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../../src/demo.js';
import type { CardLinkPort } from '../../../src/network/card-link/adapter.js';
import { decryptWorkingKey } from '../../../src/network/iso8583/index.js';
import { NetworkUnavailableError } from '../../../src/network/port.js';
import type { Simulator } from '../../../src/simulator/index.js';
import type { Store } from '../../../src/store/db.js';
import { storeTargets } from '../../support/stores.js';
import { effectsOf, foreignSignIn, linkPort, linkSimulator, linkStore, sale, TMK } from './support.js';

describe.each(storeTargets)('card link keys and trace numbers on $name', (target) => {
  let store: Store;
  let sim: Simulator;
  const ports: CardLinkPort[] = [];
  const open = () => {
    const p = linkPort(store, sim);
    ports.push(p);
    return p;
  };

  beforeEach(async () => {
    store = await linkStore(await target.freshUrl());
    sim = await linkSimulator();
  });
  afterEach(async () => {
    for (const p of ports.splice(0)) await p.close();
    await sim.close();
    await store.close();
  });

  const attemptOf = (refId: string) =>
    store.db.selectFrom('link_attempts').selectAll().where('ref_id', '=', refId).executeTakeFirstOrThrow();

  it('after a foreign sign-in, one card request fails its MAC check and the next one is applied', async () => {
    const link = open();
    expect((await link.authorizeSale(sale(1_101))).approved).toBe(true);
    await foreignSignIn(sim);

    const lost = sale(1_102);
    await expect(link.authorizeSale(lost)).rejects.toThrow(/MAC/);
    const next = await link.authorizeSale(sale(1_103));
    expect(next.approved).toBe(true);
    expect(effectsOf(sim, 'sale', 1_103).map((e) => e.reference)).toEqual([next.reference]);

    // The failed one is reversed, under the fresh key; the host never applied it.
    const attempt = await attemptOf(lost.requestId);
    expect(attempt.state).toBe('reversing');
    await link.reverse({ network: 'card', attemptId: attempt.id });
    expect((await attemptOf(lost.requestId)).state).toBe('reversed');
    expect(effectsOf(sim, 'sale', 1_102)).toEqual([]);
  });

  it('repeats a reversal after a fresh sign-in when its answer fails the MAC check', async () => {
    const link = open();
    expect((await link.authorizeSale(sale(1_201))).approved).toBe(true);
    sim.faults.set({ dropRate: 1 });
    const dropped = sale(1_202);
    await expect(link.authorizeSale(dropped)).rejects.toThrow(NetworkUnavailableError);
    sim.faults.set({ dropRate: 0 });
    expect(effectsOf(sim, 'sale', 1_202)).toHaveLength(1); // applied; only the answer was lost
    await foreignSignIn(sim);

    const attempt = await attemptOf(dropped.requestId);
    await link.reverse({ network: 'card', attemptId: attempt.id });
    expect((await attemptOf(dropped.requestId)).state).toBe('reversed');
    expect(effectsOf(sim, 'sale', 1_202)).toEqual([]);
  });

  it('two processes on one store sign in once, and both keep working after either signs in again', async () => {
    const a = open();
    const b = open();
    const first = await Promise.all([a.authorizeSale(sale(1_301)), b.authorizeSale(sale(1_302))]);
    expect(first.map((r) => r.approved)).toEqual([true, true]);
    expect(sim.received()['0800']).toBe(1);
    for (let i = 0; i < 6; i++) {
      const r = await (i % 2 ? a : b).authorizeSale(sale(1_310 + i));
      expect(r.approved).toBe(true);
    }
    for (let i = 0; i < 6; i++) expect(effectsOf(sim, 'sale', 1_310 + i)).toHaveLength(1);

    // The key is shared through the store, sealed under the terminal master key, never in clear.
    const row = await store.db
      .selectFrom('link_terminal_keys')
      .selectAll()
      .where('terminal_id', '=', DEMO.terminalId)
      .executeTakeFirstOrThrow();
    const hostKey = sim.ledger.terminal(DEMO.terminalId)?.mac_key ?? '';
    expect(row.mac_key_under_tmk?.toLowerCase()).not.toBe(hostKey.toLowerCase());
    const opened = decryptWorkingKey(
      Buffer.from(TMK, 'hex'),
      Buffer.from(row.mac_key_under_tmk ?? '', 'hex'),
      Buffer.from(row.mac_key_check ?? '', 'hex'),
    );
    expect(opened.toString('hex')).toBe(hostKey.toLowerCase());

    // A rotates the keys after a foreign sign-in; B reads A's key from the store and signs in not.
    await foreignSignIn(sim);
    await expect(a.authorizeSale(sale(1_320))).rejects.toThrow(/MAC/);
    expect((await a.authorizeSale(sale(1_321))).approved).toBe(true);
    expect((await b.authorizeSale(sale(1_322))).approved).toBe(true);
    expect(sim.received()['0800']).toBe(3); // ours, the foreign one, A's fresh one
    expect(effectsOf(sim, 'sale', 1_321)).toHaveLength(1);
    expect(effectsOf(sim, 'sale', 1_322)).toHaveLength(1);
  });

  it('never reuses a trace number within a batch when the counter comes round', async () => {
    const link = open();
    const paid = await link.authorizeSale(sale(50_000));
    const refund = (requestId: string, amountMinor: number) =>
      link.submitRefund({
        requestId,
        merchantId: DEMO.merchantId,
        terminalId: DEMO.terminalId,
        method: 'card',
        originalReference: paid.reference,
        amountMinor,
        currency: 'CNY',
        reason: { code: 'quality_issue', note: '退货 return' },
      });
    const r1 = await refund(`ref_wrap_1_${Date.now()}`, 1_401);
    expect(r1.kind).toBe('accepted');
    const used = await store.db
      .selectFrom('link_attempts')
      .select('stan')
      .where('kind', '=', 'refund')
      .executeTakeFirstOrThrow();
    // The counter came round: the next trace number would be the first refund's.
    await store.db
      .updateTable('terminals')
      .set({ stan: Number(used.stan) - 1 })
      .where('id', '=', DEMO.terminalId)
      .execute();

    const r2 = await refund(`ref_wrap_2_${Date.now()}`, 1_402);
    expect(r2).toMatchObject({ kind: 'accepted' });
    expect(r2.kind === 'accepted' && r2.reference).not.toBe(r1.kind === 'accepted' && r1.reference);
    expect(effectsOf(sim, 'refund', 1_402)).toHaveLength(1);
    expect(effectsOf(sim, 'refund', 1_401)).toHaveLength(1);
  });
});
