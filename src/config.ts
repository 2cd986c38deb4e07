import { resolve } from 'node:path';

/** Configuration from the environment, read and validated once at start. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** DATABASE_POOL_SIZE: PostgreSQL connections of this process (SQLite has one). */
  databasePoolSize?: number;
  dataDir: string;
  logLevel: string;
  /** Seed the demo merchant, terminal, operators and sales into an empty store. */
  seedDemo: boolean;
  /** Run the outbox worker in this process. */
  worker: boolean;
  /** In-process acquirer: how long review and processing take. */
  networkDelayMs: number;
  /** How long a worker's claim on an outbox row lasts before another worker may take it over. */
  workerLeaseMs: number;
  /** First retry delay of outbox work (doubles per attempt, up to a minute). */
  workerBackoffMs: number;
  /** Processing SLA: a refund still not through after this long is shown `delayed` (seed 004 退款延迟). */
  workerDelayedAfterMs: number;
  /** DATA_KEY / TOKEN_KEY: one base64 key each, a one-key ring `k1` (see src/key-ring.ts). */
  dataKey: string | undefined;
  tokenKey: string | undefined;
  /** DATA_KEYS / TOKEN_KEYS: rings `id:base64,…`, oldest first, the LAST one current. */
  dataKeys?: string | undefined;
  tokenKeys?: string | undefined;
  /** How often a running process re-reads DATA_DIR/secrets.json for rotated keys (default 5 s). */
  keyReloadIntervalMs?: number;
  /** How often the worker re-seals a batch of values still under an old data key; 0: never (default 2 s). */
  keyResealIntervalMs?: number;
  /**
   * `sim` (default): start the bundled network simulator and talk ISO 8583 to it;
   * `host`: talk ISO 8583 to ACQUIRER_HOST:ACQUIRER_PORT (a real acquirer or a separate simulator);
   * `in-process`: the in-process acquirer (no sockets; used by fast tests).
   */
  network: 'sim' | 'host' | 'in-process';
  acquirerHost: string;
  acquirerPort: number;
  simControlPort: number;
  /** Terminal master key (hex, 16 bytes) the working keys arrive under. */
  terminalMasterKey: string;
  /** How long the card link waits for an answer before reversing. */
  networkTimeoutMs: number;
  /**
   * Health: the card link echoes (0820, which takes a trace number) at most this often; in between
   * `/v1/health` reports the link as its last answer or echo left it. Default 30 s.
   */
  linkEchoIntervalMs?: number;
  /** Requests per minute one client (IP) may make to any route; 429 with Retry-After beyond. */
  rateLimitPerMinute?: number;
  /** Sign-ins per minute for one operator at one terminal, whoever sends them. */
  signInLimitPerMinute?: number;
  /**
   * CONSUMER_PER_MINUTE: requests per minute one client may make to each public consumer route
   * (return and status links); unset: the routes' own default (api/routes/consumer.ts).
   */
  consumerPerMinute?: number | undefined;
  /** TRUST_PROXY: the load balancers (addresses / CIDRs, comma-separated) whose X-Forwarded-For is believed. */
  trustProxy?: string[] | undefined;
  /**
   * A real QR wallet for NETWORK=host (unset: QR payments go to the in-process stand-in): gateway
   * URL, our merchant id and app id there, our RSA private key and the wallet's public key (PEM files).
   */
  qrWallet?: QrWalletConfig | undefined;
  /** SMTP server for e-mailed vouchers (`smtp://host:port`); unset: `.eml` files under DATA_DIR/mail/. */
  smtpUrl: string | undefined;
  /** The From of e-mailed vouchers. */
  mailFrom: string;
  /** SMS gateway (POST JSON `{to, text}`); unset: one JSON line per message in DATA_DIR/sms.log. */
  smsGatewayUrl: string | undefined;
  /** PUBLIC_URL: where consumers' phones reach this server (return QRs, status links); see Ctx. */
  publicUrl?: string | undefined;
}

export interface QrWalletConfig {
  /** QR_WALLET_URL, e.g. https://wallet.example/gateway */
  url: string;
  /** QR_MERCHANT_ID: our merchant id at the wallet (the merchant whose QR payments it takes). */
  merchantId: string;
  /** QR_APP_ID (default `app` + merchant id). */
  appId: string;
  /** QR_MERCHANT_PRIVATE_KEY_FILE: PEM (PKCS#8) of the key we sign requests with. */
  merchantPrivateKeyFile: string;
  /** QR_WALLET_PUBLIC_KEY_FILE: PEM (SPKI) of the key the wallet signs answers and notifications with. */
  walletPublicKeyFile: string;
}

function qrWallet(env: NodeJS.ProcessEnv): QrWalletConfig | undefined {
  const gateway = url('QR_WALLET_URL', env.QR_WALLET_URL, /^https?:\/\//);
  if (gateway === undefined) return undefined;
  const need = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') throw new Error(`${name} is required when QR_WALLET_URL is set`);
    return v;
  };
  const merchantId = need('QR_MERCHANT_ID');
  if (!/^[0-9A-Za-z]{1,32}$/.test(merchantId))
    throw new Error('QR_MERCHANT_ID must be 1..32 letters or digits');
  return {
    url: gateway,
    merchantId,
    appId: (env.QR_APP_ID || `app${merchantId}`).slice(0, 32),
    merchantPrivateKeyFile: resolve(need('QR_MERCHANT_PRIVATE_KEY_FILE')),
    walletPublicKeyFile: resolve(need('QR_WALLET_PUBLIC_KEY_FILE')),
  };
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got "${value}"`);
  return n;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function hexKey(name: string, value: string): string {
  if (!/^[0-9A-Fa-f]{32}$/.test(value))
    throw new Error(`${name} must be 32 hex characters (a double-length 3DES key)`);
  return value.toUpperCase();
}

function url(name: string, value: string | undefined, scheme: RegExp): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!scheme.test(value)) throw new Error(`${name} must start with ${scheme.source.replace(/\\/g, '')}`);
  return value;
}

/**
 * TRUST_PROXY: the balancers' addresses or CIDRs, e.g. `10.0.0.0/8,127.0.0.1`. `true` is refused on
 * purpose: believing every X-Forwarded-For lets any client choose its own rate-limit bucket.
 */
function trustProxy(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const list = value.split(',').map((v) => v.trim());
  if (list.some((v) => !/^[0-9a-fA-F:.]+(\/[0-9]{1,3})?$/.test(v)))
    throw new Error(`TRUST_PROXY must be comma-separated addresses or CIDRs, got "${value}"`);
  return list;
}

function bool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.DATA_DIR ?? 'data');
  const databaseUrl = env.DATABASE_URL ?? `sqlite:${resolve(dataDir, 'refund-desk.db')}`;
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    throw new Error('DATABASE_URL must start with sqlite: or postgres://');
  }
  return {
    port: int('PORT', env.PORT, 3000, 0, 65535),
    // The demo (bundled simulator) answers on this machine only; a shop's server sets HOST=0.0.0.0
    // (or its LAN address) so the terminals can reach it.
    host: env.HOST ?? ((env.NETWORK ?? 'sim') === 'sim' ? '127.0.0.1' : '0.0.0.0'),
    databaseUrl,
    databasePoolSize: int('DATABASE_POOL_SIZE', env.DATABASE_POOL_SIZE, 10, 1, 500),
    dataDir,
    logLevel: env.LOG_LEVEL ?? 'info',
    seedDemo: bool(env.SEED_DEMO, true),
    worker: bool(env.WORKER, true),
    networkDelayMs: int('NETWORK_DELAY_MS', env.NETWORK_DELAY_MS, 1500, 0, 600_000),
    workerLeaseMs: int('WORKER_LEASE_MS', env.WORKER_LEASE_MS, 30_000, 1_000, 3_600_000),
    workerBackoffMs: int('WORKER_BACKOFF_MS', env.WORKER_BACKOFF_MS, 500, 10, 60_000),
    workerDelayedAfterMs: int(
      'WORKER_DELAYED_AFTER_MS',
      env.WORKER_DELAYED_AFTER_MS,
      60_000,
      100,
      7 * 86_400_000,
    ),
    dataKey: env.DATA_KEY,
    tokenKey: env.TOKEN_KEY,
    dataKeys: env.DATA_KEYS,
    tokenKeys: env.TOKEN_KEYS,
    keyReloadIntervalMs: int('KEY_RELOAD_INTERVAL_MS', env.KEY_RELOAD_INTERVAL_MS, 5_000, 100, 600_000),
    keyResealIntervalMs: int('KEY_RESEAL_INTERVAL_MS', env.KEY_RESEAL_INTERVAL_MS, 2_000, 0, 3_600_000),
    network: oneOf('NETWORK', env.NETWORK, ['sim', 'host', 'in-process'] as const, 'sim'),
    acquirerHost: env.ACQUIRER_HOST ?? '127.0.0.1',
    acquirerPort: int('ACQUIRER_PORT', env.ACQUIRER_PORT, 3900, 0, 65535),
    simControlPort: int('SIM_CONTROL_PORT', env.SIM_CONTROL_PORT, 3901, 0, 65535),
    terminalMasterKey: hexKey(
      'TERMINAL_MASTER_KEY',
      env.TERMINAL_MASTER_KEY ?? '0123456789ABCDEFFEDCBA9876543210',
    ),
    networkTimeoutMs: int('NETWORK_TIMEOUT_MS', env.NETWORK_TIMEOUT_MS, 5_000, 100, 120_000),
    linkEchoIntervalMs: int('LINK_ECHO_INTERVAL_MS', env.LINK_ECHO_INTERVAL_MS, 30_000, 1_000, 3_600_000),
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', env.RATE_LIMIT_PER_MINUTE, 1_200, 10, 1_000_000),
    signInLimitPerMinute: int('SIGNIN_LIMIT_PER_MINUTE', env.SIGNIN_LIMIT_PER_MINUTE, 10, 1, 10_000),
    consumerPerMinute: env.CONSUMER_PER_MINUTE
      ? int('CONSUMER_PER_MINUTE', env.CONSUMER_PER_MINUTE, 0, 1, 100_000)
      : undefined,
    trustProxy: trustProxy(env.TRUST_PROXY),
    qrWallet: qrWallet(env),
    smtpUrl: url('SMTP_URL', env.SMTP_URL, /^smtps?:\/\//),
    publicUrl: url('PUBLIC_URL', env.PUBLIC_URL, /^https?:\/\/[^/?#]+\/?$/),
    mailFrom: env.MAIL_FROM || 'Refund Desk <refund-desk@localhost>',
    smsGatewayUrl: url('SMS_GATEWAY_URL', env.SMS_GATEWAY_URL, /^https?:\/\//),
  };
}
