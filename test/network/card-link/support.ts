import { mkdtempSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEMO } from '../../../src/demo.js';
import { CardLinkPort } from '../../../src/network/card-link/adapter.js';
import { CUP_HEADER, DIALECT, TERMINAL_TPDU } from '../../../src/network/card-link/wire.js';
import { decode, encode, FrameDecoder, frame, type IsoMessage } from '../../../src/network/iso8583/index.js';
import type { SaleRequest } from '../../../src/network/port.js';
import { type Simulator, startSimulator } from '../../../src/simulator/index.js';
import { migrate, openStore, type Store } from '../../../src/store/db.js';
import { StoreLinkJournal } from '../../../src/store/link-journal.js';
import { testPan } from '../../support/system.js';

export const TMK = '0123456789ABCDEFFEDCBA9876543210';
export const PAN = testPan('622202100004444');

/** One raw ISO 8583 exchange with the simulator's host, as another terminal program would do it. */
export async function exchange(port: number, msg: IsoMessage): Promise<IsoMessage> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => resolve());
  });
  const decoder = new FrameDecoder({ header: true });
  const answer = new Promise<IsoMessage>((resolve, reject) => {
    socket.on('data', (chunk) => {
      const f = decoder.push(chunk).frames[0];
      if (!f) return;
      const d = decode(f.message, DIALECT);
      if (d.ok) resolve(d.message);
      else reject(new Error(d.error.message));
    });
  });
  socket.write(frame(encode(msg, DIALECT), { tpdu: TERMINAL_TPDU, header: CUP_HEADER }));
  try {
    return await answer;
  } finally {
    socket.destroy();
  }
}

/** A sign-in by someone else for our terminal: the host replaces the terminal's working keys. */
export async function foreignSignIn(sim: Simulator): Promise<void> {
  const a = await exchange(sim.cardPort, {
    mti: '0800',
    fields: { '11': '900001', '41': DEMO.terminalId, '42': DEMO.merchantId, '60': '00000001003' },
  });
  if (a.fields['39'] !== '00') throw new Error(`foreign sign-in refused: ${a.fields['39']}`);
}

/** The demo merchant and terminal, as the card link needs them, in a fresh migrated store. */
export async function linkStore(url: string): Promise<Store> {
  const store = openStore(url);
  await migrate(store);
  const now = new Date().toISOString();
  await store.db
    .insertInto('merchants')
    .values({
      id: DEMO.merchantId,
      name: DEMO.merchantName,
      currency: 'CNY',
      available_funds_minor: 0,
      policy_json: '{}',
      created_at: now,
    })
    .execute();
  await store.db
    .insertInto('terminals')
    .values({ id: DEMO.terminalId, merchant_id: DEMO.merchantId, name: 'T1', batch_no: 1, created_at: now })
    .execute();
  return store;
}

export async function linkSimulator(): Promise<Simulator> {
  return startSimulator({
    dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-keys-')),
    cardPort: 0,
    controlPort: 0,
    log: pino({ level: 'silent' }),
    seed: 8,
    timeoutAnswerMs: 5_000,
    merchants: [
      {
        id: DEMO.merchantId,
        name: DEMO.merchantName,
        balanceMinor: 100_000_000,
        terminals: [DEMO.terminalId],
      },
    ],
  });
}

/** One card link as one API process would run it: its own connection and its own memory. */
export function linkPort(store: Store, sim: Simulator, timeoutMs = 1_500): CardLinkPort {
  const port = new CardLinkPort({
    host: '127.0.0.1',
    port: sim.cardPort,
    journal: new StoreLinkJournal(store),
    log: pino({ level: 'silent' }),
    tmkHex: TMK,
    timeoutMs,
  });
  port.start();
  return port;
}

let sales = 0;
export function sale(amountMinor: number): SaleRequest {
  sales += 1;
  return {
    requestId: `pay_keys_${process.pid}_${Date.now()}_${sales}`,
    merchantId: DEMO.merchantId,
    terminalId: DEMO.terminalId,
    orderNo: `K-${sales}`,
    amountMinor,
    currency: 'CNY',
    method: 'card',
    pan: PAN,
    expiry: '2912',
  };
}

/** The simulator's live (not reversed) card effects of one amount: each test uses its own amounts. */
export function effectsOf(sim: Simulator, kind: string, amountMinor: number) {
  return sim.ledger.effects().filter((e) => e.kind === kind && e.amount === amountMinor);
}
