import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (package `chromium`); playwright-core never downloads a browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * As root in a sandbox without GPU or outside network: no sandbox, no GPU, and no background
 * connections (they are refused here, many at a time, and slow the start).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** A phone as the consumer holds it (PRODUCT.md: 360 × 640 and up): touch, mobile, 2× pixels. */
export const PHONE = {
  viewport: { width: 360, height: 640 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
} as const;

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

const repo = fileURLToPath(new URL('../..', import.meta.url));
export type WebApp = 'terminal' | 'office' | 'consumer';
export const webDist = (app: WebApp): string => join(repo, 'dist/web', app);
export const terminalDist = webDist('terminal');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * `npm test` builds the web apps before the browser suites; when they run alone (`vitest run
 * test/e2e`) and a build is missing or older than src/web, build it here (a second or two).
 */
export async function ensureWebBuilt(app: WebApp): Promise<void> {
  const index = join(webDist(app), 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built > newestMtime(join(repo, 'src/web'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(repo, 'vite.config.ts'), mode: app, logLevel: 'warn' });
}

export const ensureTerminalBuilt = (): Promise<void> => ensureWebBuilt('terminal');
