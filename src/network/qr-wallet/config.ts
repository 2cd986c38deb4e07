import { readFileSync } from 'node:fs';
import type { QrWalletConfig } from '../../config.js';
import { QrWalletClient, QrWalletPort } from './client.js';
import { toPrivateKey, toPublicKey } from './protocol.js';

function pemOf(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * The QR wallet port for a real wallet endpoint (QR_WALLET_URL and friends), or null when none is
 * configured. Keys are read and parsed here, once at start: a wrong file fails the start, not the
 * first payment.
 */
export function qrWalletPortFromConfig(
  config: { qrWallet?: QrWalletConfig | undefined; networkTimeoutMs: number },
  opts: { clock?: () => Date } = {},
): QrWalletPort | null {
  const wallet = config.qrWallet;
  if (!wallet) return null;
  const merchantPrivateKey = toPrivateKey(
    pemOf(wallet.merchantPrivateKeyFile, 'QR_MERCHANT_PRIVATE_KEY_FILE'),
  );
  const walletPublicKey = toPublicKey(pemOf(wallet.walletPublicKeyFile, 'QR_WALLET_PUBLIC_KEY_FILE'));
  const client = new QrWalletClient({
    gatewayUrl: wallet.url,
    appId: wallet.appId,
    merchantId: wallet.merchantId,
    merchantPrivateKey,
    walletPublicKey,
    timeoutMs: config.networkTimeoutMs,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  return new QrWalletPort({ clients: [client] });
}
