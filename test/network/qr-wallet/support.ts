import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { NetworkResult } from '../../../src/network/port.js';
import { type QrWalletClient, QrWalletPort } from '../../../src/network/qr-wallet/client.js';
import { QR_NOTIFY_PATH, qrNotifyRoutes } from '../../../src/network/qr-wallet/notify-route.js';
import type { RefundResult } from '../../../src/network/qr-wallet/protocol.js';
import type { QrFaults } from '../../../src/simulator/qr-wallet/server.js';
import {
  DEMO_AUTH_CODE,
  type QrWalletSim,
  startQrWalletSim,
} from '../../../src/simulator/qr-wallet/wallet-sim.js';

export const MERCHANT = '898100000000001';
export const OTHER_MERCHANT = '898100000000002';
export const DAY_MS = 86_400_000;

/** A running wallet simulator, a merchant notify receiver (the real route + port), and their parts. */
export interface Rig {
  sim: QrWalletSim;
  client: QrWalletClient;
  port: QrWalletPort;
  receiver: FastifyInstance;
  /** Every notification body POSTed to the receiver, verified or not. */
  bodies: unknown[];
  /** Every result the port handed to onResult. */
  results: NetworkResult[];
  faults: QrFaults;
  /** Moves the simulator's and the client's clock. */
  setClockOffsetMs(ms: number): void;
  /** Make the next `n` notifications fail in the merchant's handler (the wallet must redeliver). */
  failNextNotifications(n: number): void;
  close(): Promise<void>;
}

export async function startRig(
  opts: {
    refundDelayMs?: number;
    random?: () => number;
    timeoutHoldMs?: number;
    clientTimeoutMs?: number;
  } = {},
): Promise<Rig> {
  const dataDir = mkdtempSync(join(tmpdir(), 'qr-wallet-'));
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);
  const faults: QrFaults = { dropRate: 0, delayMs: 0, timeoutRate: 0, issuerDown: false };
  const sim = await startQrWalletSim({
    dataDir,
    ledgerPath: ':memory:',
    merchants: [
      { merchantId: MERCHANT, openingBalanceMinor: 0 },
      { merchantId: OTHER_MERCHANT, openingBalanceMinor: 0 },
    ],
    refundDelayMs: opts.refundDelayMs ?? 60,
    faults: () => faults,
    clock,
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.timeoutHoldMs !== undefined ? { timeoutHoldMs: opts.timeoutHoldMs } : {}),
  });
  const client = sim.client(MERCHANT, opts.clientTimeoutMs ?? 5_000);
  const port = new QrWalletPort({ clients: [client], demoAuthCode: DEMO_AUTH_CODE });
  const bodies: unknown[] = [];
  const results: NetworkResult[] = [];
  let failures = 0;
  port.onResult(async (r) => {
    if (failures > 0) {
      failures--;
      throw new Error('merchant store busy');
    }
    results.push(r);
  });
  const receiver = Fastify({ logger: false, forceCloseConnections: true });
  await receiver.register(
    qrNotifyRoutes({
      handle: async (body) => {
        bodies.push(body);
        return port.handleNotification(body);
      },
    }),
  );
  const base = await receiver.listen({ host: '127.0.0.1', port: 0 });
  sim.notifyUrls.set(MERCHANT, `${base}${QR_NOTIFY_PATH}`);
  return {
    sim,
    client,
    port,
    receiver,
    bodies,
    results,
    faults,
    setClockOffsetMs: (ms) => {
      offsetMs = ms;
    },
    failNextNotifications: (n) => {
      failures = n;
    },
    async close() {
      await sim.close();
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function until<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Poll trade.refund.query until the refund is final. */
export function finalRefund(client: QrWalletClient, outRequestNo: string): Promise<RefundResult> {
  return until(`refund ${outRequestNo} to finish`, async () => {
    const r = await client.queryRefund(outRequestNo);
    return r && r.refundStatus !== 'PROCESSING' ? r : null;
  });
}

let seq = 0;
/** A unique merchant reference for this run. */
export function ref(prefix: string): string {
  seq++;
  return `${prefix}${Date.now().toString(36)}${seq}`;
}

/** A consumer with their own payment code, funded. */
export function consumer(rig: Rig, balanceMinor = 1_000_000): { userId: string; authCode: string } {
  seq++;
  const userId = `user${seq}`;
  const authCode = `28${String(seq).padStart(16, '0')}`;
  rig.sim.ledger.openConsumer({ userId, authCode, balanceMinor });
  return { userId, authCode };
}
