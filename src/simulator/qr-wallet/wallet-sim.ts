import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { QrWalletClient } from '../../network/qr-wallet/client.js';
import { merchantKeyPair, type RsaKeyPair, walletKeyPair } from '../../network/qr-wallet/keys.js';
import type { RefundNotification } from '../../network/qr-wallet/protocol.js';
import { QrLedger } from './ledger.js';
import { type QrFaults, qrWalletRoutes } from './server.js';

/** The demo consumer's payment code (an 18-digit Alipay-style code starting 28). */
export const DEMO_AUTH_CODE = '286000000000000001';
export const DEMO_CONSUMER_ID = 'demo-consumer';

export interface QrWalletSimOptions {
  /** Holds `qr-wallet.db` and `keys/`. */
  dataDir: string;
  /** Override the ledger file, e.g. ':memory:'. */
  ledgerPath?: string;
  merchants: { merchantId: string; notifyUrl?: string; openingBalanceMinor?: number }[];
  /** Default 127.0.0.1 — the simulator is for loopback. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  refundDelayMs: number;
  faults?: () => QrFaults;
  random?: () => number;
  clock?: () => Date;
  timeoutHoldMs?: number;
  notify?: (url: string, body: RefundNotification) => Promise<void>;
  /** The demo consumer's opening balance; default ¥1,000,000. */
  demoConsumerBalanceMinor?: number;
}

export interface QrWalletSim {
  app: FastifyInstance;
  /** POST target for QrWalletClient. */
  gatewayUrl: string;
  ledger: QrLedger;
  walletKeys: RsaKeyPair;
  merchantKeys: Map<string, RsaKeyPair>;
  /** Mutable: set a merchant's notify URL once its API listens. */
  notifyUrls: Map<string, string>;
  /** A client for one of the simulator's merchants, with keys from the simulator's key directory. */
  client(merchantId: string, timeoutMs?: number): QrWalletClient;
  close(): Promise<void>;
}

/**
 * The QR wallet simulator as one process piece: ledger file, key pairs (created on first run),
 * the demo consumer and merchants, and a Fastify server with `POST /gateway` on loopback.
 */
export async function startQrWalletSim(opts: QrWalletSimOptions): Promise<QrWalletSim> {
  const keyDir = join(opts.dataDir, 'keys');
  const ledger = new QrLedger({
    path: opts.ledgerPath ?? join(opts.dataDir, 'qr-wallet.db'),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  ledger.openConsumer({
    userId: DEMO_CONSUMER_ID,
    authCode: DEMO_AUTH_CODE,
    balanceMinor: opts.demoConsumerBalanceMinor ?? 100_000_000,
  });
  const walletKeys = walletKeyPair(keyDir);
  const merchantKeys = new Map<string, RsaKeyPair>();
  const notifyUrls = new Map<string, string>();
  for (const m of opts.merchants) {
    merchantKeys.set(m.merchantId, merchantKeyPair(keyDir, m.merchantId));
    ledger.openMerchant(m.merchantId, m.openingBalanceMinor ?? 0);
    if (m.notifyUrl) notifyUrls.set(m.merchantId, m.notifyUrl);
  }
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(
    qrWalletRoutes({
      ledger,
      walletPrivateKey: walletKeys.privateKey,
      merchantPublicKeys: new Map([...merchantKeys].map(([id, k]) => [id, k.publicKey])),
      merchantNotifyUrls: notifyUrls,
      refundDelayMs: opts.refundDelayMs,
      ...(opts.faults ? { faults: opts.faults } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.timeoutHoldMs !== undefined ? { timeoutHoldMs: opts.timeoutHoldMs } : {}),
      ...(opts.notify ? { notify: opts.notify } : {}),
    }),
  );
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const gatewayUrl = `${address}/gateway`;
  return {
    app,
    gatewayUrl,
    ledger,
    walletKeys,
    merchantKeys,
    notifyUrls,
    client(merchantId, timeoutMs = 5_000) {
      const keys = merchantKeys.get(merchantId);
      if (!keys) throw new Error(`merchant ${merchantId} is not set up in the simulator`);
      return new QrWalletClient({
        gatewayUrl,
        appId: `app${merchantId}`.slice(0, 32),
        merchantId,
        merchantPrivateKey: keys.privateKey,
        walletPublicKey: walletKeys.publicKey,
        timeoutMs,
        ...(opts.clock ? { clock: opts.clock } : {}),
      });
    },
    async close() {
      await app.close();
      ledger.close();
    },
  };
}
