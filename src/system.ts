import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { buildApp, defaultRateLimit, logSerializers, redactPaths } from './api/app.js';
import type { Config } from './config.js';
import { DEMO, seedDemo } from './demo.js';
import { FileSecrets, type LoadedSecrets, openSecrets } from './key-ring.js';
import { CardLinkPort } from './network/card-link/adapter.js';
import type { NetworkPort } from './network/port.js';
import { QrWalletPort } from './network/qr-wallet/client.js';
import { qrWalletPortFromConfig } from './network/qr-wallet/config.js';
import { QR_NOTIFY_PATH } from './network/qr-wallet/notify-route.js';
import { type QrReversal, RoutingPort } from './network/routing.js';
import { ReceiptDelivery } from './receipts/send.js';
import { makeSenders, type ReceiptSenders } from './receipts/senders.js';
import type { Ctx } from './service/context.js';
import { InProcessAcquirer } from './simulator/in-process/acquirer.js';
import { type Simulator, startSimulator } from './simulator/index.js';
import { DEMO_AUTH_CODE, type QrWalletSim, startQrWalletSim } from './simulator/qr-wallet/wallet-sim.js';
import { loadCalendarFile } from './store/calendar-file.js';
import { migrate, openStore, type Store } from './store/db.js';
import { StoreLinkJournal } from './store/link-journal.js';
import { OutboxWorker } from './worker/outbox.js';
import { ResealJob } from './worker/reseal.js';
import { applyRefundResult } from './workflows/refund.js';

/**
 * The key rings: from the environment (DATA_KEYS / TOKEN_KEYS, or DATA_KEY / TOKEN_KEY), or from
 * DATA_DIR/secrets.json (mode 600, created with fresh keys once), which a running process re-reads
 * every `keyReloadIntervalMs` so `refund-desk keys rotate` needs no restart (src/key-ring.ts).
 */
export function loadSecrets(
  config: Pick<Config, 'dataDir' | 'dataKey' | 'tokenKey' | 'dataKeys' | 'tokenKeys' | 'keyReloadIntervalMs'>,
  log?: Logger,
): LoadedSecrets {
  const secrets = openSecrets(config, {
    // The message names the file and what is wrong with it, never a key.
    onError: (err) =>
      log?.error({ err: err.message }, 'key ring file unreadable: keeping the rings loaded before'),
  });
  if (secrets instanceof FileSecrets) secrets.watch(config.keyReloadIntervalMs ?? 5_000);
  return secrets;
}

export function makeLogger(level: string): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' }, serializers: logSerializers });
}

export interface System {
  ctx: Ctx;
  app: FastifyInstance;
  worker: OutboxWorker | null;
  network: NetworkPort;
  /** The in-process acquirer, when NETWORK=in-process (tests switch its link down). */
  inProcess: InProcessAcquirer | null;
  /** The bundled simulator, when NETWORK=sim. */
  simulator: Simulator | null;
  /** Where vouchers sent to consumers go (SMTP / SMS gateway, or files under DATA_DIR). */
  senders: ReceiptSenders;
  /** Re-seals values under old data keys in the background, when this process runs the worker. */
  reseal: ResealJob | null;
  close(): Promise<void>;
}

async function buildNetwork(config: Config, store: Store, log: Logger, clock: () => Date) {
  if (config.network === 'in-process') {
    const acquirer = new InProcessAcquirer(store, { processingDelayMs: config.networkDelayMs, clock });
    return {
      network: acquirer as NetworkPort,
      inProcess: acquirer,
      simulator: null,
      wallet: null,
      qrPort: null,
    };
  }
  let port = config.acquirerPort;
  let simulator: Simulator | null = null;
  if (config.network === 'sim') {
    simulator = await startSimulator({
      dataDir: config.dataDir,
      cardPort: config.acquirerPort,
      controlPort: config.simControlPort,
      log,
      merchants: [
        {
          id: DEMO.merchantId,
          name: DEMO.merchantName,
          balanceMinor: DEMO.openingFundsMinor,
          terminals: [DEMO.terminalId],
        },
      ],
    });
    port = simulator.cardPort;
  }
  // The adapters keep nothing themselves: what they must remember lives in our store.
  const journal = new StoreLinkJournal(store);
  const card = new CardLinkPort({
    host: config.network === 'sim' ? '127.0.0.1' : config.acquirerHost,
    port,
    journal,
    log,
    tmkHex: config.terminalMasterKey,
    timeoutMs: config.networkTimeoutMs,
    ...(config.linkEchoIntervalMs !== undefined ? { echoIntervalMs: config.linkEchoIntervalMs } : {}),
    clock,
  });
  card.start();
  // QR wallets: the bundled wallet simulator in sim mode; otherwise the wallet configured by
  // QR_WALLET_URL and its keys, and the in-process acquirer only while none is configured.
  let qr: NetworkPort;
  let wallet: QrWalletSim | null = null;
  let qrPort: QrWalletPort | null = null;
  if (config.network === 'sim') {
    wallet = await startQrWalletSim({
      dataDir: join(config.dataDir, 'qr-wallet'),
      merchants: [{ merchantId: DEMO.merchantId, openingBalanceMinor: DEMO.openingFundsMinor }],
      refundDelayMs: config.networkDelayMs,
      faults: () => (simulator as Simulator).faults.faults,
    });
    (simulator as Simulator).wallet = wallet;
    qrPort = new QrWalletPort({
      clients: [wallet.client(DEMO.merchantId, config.networkTimeoutMs)],
      demoAuthCode: DEMO_AUTH_CODE,
    });
    qr = qrPort;
  } else {
    qrPort = qrWalletPortFromConfig(config, { clock });
    qr = qrPort ?? new InProcessAcquirer(store, { processingDelayMs: config.networkDelayMs, clock });
  }
  const queueReversal = (payload: QrReversal) => journal.queueReversal(payload, clock());
  return {
    network: new RoutingPort({ card, qr, queueReversal }) as NetworkPort,
    inProcess: null,
    simulator,
    wallet,
    qrPort,
  };
}

/** Wire the whole service: store → migrations → demo → network → worker → HTTP. */
export async function startSystem(
  config: Config,
  opts: { log?: Logger; clock?: () => Date } = {},
): Promise<System> {
  const log = opts.log ?? makeLogger(config.logLevel);
  const store = openStore(config.databaseUrl, {
    poolSize: config.databasePoolSize ?? 10,
    backgroundCheckpoints: true,
    onCheckpointError: (message) => log.warn({ err: message }, 'background WAL checkpoint failed'),
  });
  await migrate(store);
  const clock = opts.clock ?? (() => new Date());
  const secrets = loadSecrets(config, log);
  const { network, inProcess, simulator, wallet, qrPort } = await buildNetwork(config, store, log, clock);
  const ctx: Ctx = {
    store,
    secrets,
    calendar: loadCalendarFile(),
    network,
    clock,
    log,
    publicUrl: config.publicUrl,
  };
  // Results are applied whether or not this process runs the worker (an API-only process still
  // receives the wallet's notifications and must not drop them).
  network.onResult((r) => applyRefundResult(ctx, r));
  if (config.seedDemo) await seedDemo(ctx);
  const senders = makeSenders(config);
  const worker = config.worker
    ? new OutboxWorker({
        store,
        network,
        log,
        clock,
        leaseMs: config.workerLeaseMs,
        backoffBaseMs: config.workerBackoffMs,
        delayedAfterMs: config.workerDelayedAfterMs,
        calendar: ctx.calendar,
        receipts: new ReceiptDelivery(
          store,
          ctx.secrets,
          senders,
          log.child({ component: 'receipts' }),
          clock,
          config.publicUrl?.replace(/\/+$/, '') ?? `http://localhost:${config.port}`,
        ),
      })
    : null;
  worker?.start();
  const resealIntervalMs = config.keyResealIntervalMs ?? 2_000;
  const reseal =
    config.worker && resealIntervalMs > 0
      ? new ResealJob({ store, secrets, log, intervalMs: resealIntervalMs, clock })
      : null;
  reseal?.start();
  const app = await buildApp(ctx, {
    logger: config.logLevel !== 'silent',
    rateLimit: {
      perMinute: config.rateLimitPerMinute ?? defaultRateLimit.perMinute,
      signInPerMinute: config.signInLimitPerMinute ?? defaultRateLimit.signInPerMinute,
    },
    ...(config.consumerPerMinute !== undefined ? { consumerPerMinute: config.consumerPerMinute } : {}),
    ...(config.trustProxy !== undefined ? { trustProxy: config.trustProxy } : {}),
    ...(qrPort ? { qrNotify: (body: unknown) => (qrPort as QrWalletPort).handleNotification(body) } : {}),
  });
  const api = app;
  // The wallet posts refund results to our notify URL once we know our own address.
  if (wallet) {
    api.addHook('onListen', async () => {
      const addr = api.server.address();
      if (typeof addr === 'object' && addr)
        wallet.notifyUrls.set(DEMO.merchantId, `http://127.0.0.1:${addr.port}${QR_NOTIFY_PATH}`);
    });
  }
  return {
    ctx,
    app,
    worker,
    network,
    inProcess,
    simulator,
    senders,
    reseal,
    async close() {
      await app.close();
      await reseal?.stop();
      await worker?.stop();
      await network.close();
      await wallet?.close();
      await simulator?.close();
      await store.close();
      secrets.close();
    },
  };
}
