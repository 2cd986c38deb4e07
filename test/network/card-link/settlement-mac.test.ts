/**
 * Issue 9, defect 6: every message that changes state at the host carries a MAC. A raw 0500 sent to
 * the acquirer port used to close the terminal's batch, after which same-day voids failed; the host
 * now refuses 0500 and 0320 without a valid MAC, and our link MACs them and checks the answers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../../src/demo.js';
import type { CardLinkPort } from '../../../src/network/card-link/adapter.js';
import { MAC_REJECTED, SIGN_IN_AGAIN } from '../../../src/network/card-link/wire.js';
import type { SettlementTotals } from '../../../src/network/port.js';
import type { Simulator } from '../../../src/simulator/index.js';
import type { Store } from '../../../src/store/db.js';
import { storeTargets } from '../../support/stores.js';
import { exchange, foreignSignIn, linkPort, linkSimulator, linkStore, sale } from './support.js';

const REFUSED = [MAC_REJECTED, SIGN_IN_AGAIN];

function totals(salesMinor: number, salesCount: number): SettlementTotals {
  return {
    sales: { amountMinor: salesMinor, count: salesCount },
    refunds: { amountMinor: 0, count: 0 },
    voids: { amountMinor: 0, count: 0 },
  };
}

describe.each(storeTargets)('settlement messages are authenticated on $name', (target) => {
  let store: Store;
  let sim: Simulator;
  let link: CardLinkPort;

  beforeEach(async () => {
    store = await linkStore(await target.freshUrl());
    sim = await linkSimulator();
    link = linkPort(store, sim);
  });
  afterEach(async () => {
    await link.close();
    await sim.close();
    await store.close();
  });

  const openBatch = () => sim.ledger.batchTotals(DEMO.terminalId);

  it('refuses a raw 0500 without a MAC: the batch stays open and a same-day void still works', async () => {
    const s = sale(2_101);
    const approved = await link.authorizeSale(s);
    expect(approved.approved).toBe(true);
    expect(openBatch()).toMatchObject({ debitCount: 1, debitMinor: 2_101 });

    const answer = await exchange(sim.cardPort, {
      mti: '0500',
      fields: {
        '11': '900101',
        '41': DEMO.terminalId,
        '42': DEMO.merchantId,
        '48': `${'0'.repeat(30)}0`,
        '49': '156',
        '60': '00000001201',
      },
    });
    expect(answer.mti).toBe('0510');
    expect(REFUSED).toContain(answer.fields['39']);
    expect(openBatch()).toMatchObject({ debitCount: 1, debitMinor: 2_101 });

    const voided = await link.voidSale({
      requestId: `void_${s.requestId}`,
      merchantId: DEMO.merchantId,
      terminalId: DEMO.terminalId,
      method: 'card',
      originalReference: approved.reference ?? '',
      amountMinor: 2_101,
      currency: 'CNY',
    });
    expect(voided.approved).toBe(true);
  });

  it('refuses a raw 0320 batch upload and a 0500 MACed under a wrong key', async () => {
    expect((await link.authorizeSale(sale(2_201))).approved).toBe(true);
    const upload = await exchange(sim.cardPort, {
      mti: '0320',
      fields: {
        '3': '000000',
        '4': '000000002201',
        '11': '900201',
        '37': '000000000000',
        '41': DEMO.terminalId,
        '42': DEMO.merchantId,
        '60': '00000001201',
      },
    });
    expect(upload.mti).toBe('0330');
    expect(REFUSED).toContain(upload.fields['39']);

    // A forged MAC: eight bytes of field 64 that are not the terminal's X9.19 MAC.
    const forged = await exchange(sim.cardPort, {
      mti: '0500',
      fields: {
        '11': '900202',
        '41': DEMO.terminalId,
        '42': DEMO.merchantId,
        '48': `${'0'.repeat(30)}0`,
        '49': '156',
        '60': '00000001201',
        '64': '0011223344556677',
      },
    });
    expect(forged.fields['39']).toBe(MAC_REJECTED);
    expect(openBatch()).toMatchObject({ debitCount: 1, debitMinor: 2_201 });
  });

  it('settles under its MAC, and signs in again when the host refuses a stale key', async () => {
    expect((await link.authorizeSale(sale(2_301))).approved).toBe(true);
    // Someone else signed in: the host's keys are no longer ours, and the 0500 is refused once.
    await foreignSignIn(sim);
    const signIns = sim.received()['0800'] ?? 0;
    const network = await link.settle({
      merchantId: DEMO.merchantId,
      terminalId: DEMO.terminalId,
      batchNo: 1,
      local: totals(2_301, 1),
    });
    expect(network.sales).toEqual({ amountMinor: 2_301, count: 1 });
    expect(sim.received()['0800']).toBe(signIns + 1);
    expect(sim.received()['0500']).toBe(2);
    expect(openBatch()).toMatchObject({ debitCount: 0, debitMinor: 0 });
  });

  it('uploads the batch (0320, MACed) when the totals disagree', async () => {
    expect((await link.authorizeSale(sale(2_401))).approved).toBe(true);
    const network = await link.settle({
      merchantId: DEMO.merchantId,
      terminalId: DEMO.terminalId,
      batchNo: 1,
      local: totals(9_999, 1),
    });
    expect(network.sales).toEqual({ amountMinor: 2_401, count: 1 });
    expect(sim.received()['0320']).toBe(1);
    expect(sim.received()['0800']).toBe(1); // the upload was accepted under the key we had
  });
});
