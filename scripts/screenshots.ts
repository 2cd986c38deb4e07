/**
 * `npm run screenshots`: start the whole service on a fresh SQLite store with the demo data, drive
 * the terminal in Debian's Chromium at 1280 × 800 (a 10-inch landscape POS) and write PNGs of its
 * main screens to docs/screenshots/. Chinese glyphs need a CJK font (Debian: fonts-noto-cjk).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cashier } from '../test/e2e/driver.js';
import { chromiumAvailable, ensureTerminalBuilt, launchChromium } from '../test/support/browser.js';
import { startTestSystem } from '../test/support/system.js';

const out = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

async function main(): Promise<void> {
  if (!chromiumAvailable()) throw new Error('Chromium is missing: apt-get install chromium fonts-noto-cjk');
  mkdirSync(out, { recursive: true });
  await ensureTerminalBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'refund-desk-shots-'));
  // A visible processing step: the in-process network takes 1.2 s to answer.
  const sys = await startTestSystem(`sqlite:${join(dir, 'shots.db')}`, { networkDelayMs: 1_200 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const c = new Cashier(page);
    const shot = async (name: string) => {
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(out, `${name}.png`) });
      process.stdout.write(`  docs/screenshots/${name}.png\n`);
    };

    await page.goto(`${sys.base}/terminal/`);
    await page.locator('input[name="operatorNo"]').waitFor();
    await c.keypad('01');
    await page.getByTestId('network').getByText('网络正常').waitFor();
    await shot('sign-in');
    await c.ok();
    await c.keypad('1111');
    await c.ok();
    await c.tile('refund').waitFor();
    await shot('home');

    await c.tap(c.tile('refund'));
    await c.reason('quality_issue').waitFor();
    await shot('refund-reason');
    await c.tap(c.reason('quality_issue'));
    await page.locator('[data-order="DEMO-1001"]').waitFor();
    await shot('refund-find');
    await c.tap('[data-order="DEMO-1001"]');
    await c.keypad('300');
    await c.ok();
    await page.locator('.amount-pad .notice').waitFor();
    await shot('refund-amount-error');
    await c.tap('.keypad [data-key="clear"]');
    await c.keypad('30');
    await shot('refund-amount');
    await c.ok();
    await page.getByTestId('confirm').waitFor();
    await shot('refund-confirm');
    await c.tap(page.getByTestId('confirm-refund'));
    await c.keypad('00');
    await c.ok();
    await c.keypad('1234');
    await shot('refund-supervisor');
    await c.keypad('56');
    await c.ok();
    await page.getByTestId('refund-result').waitFor();
    await page.locator('.track li.current').waitFor();
    await shot('refund-processing');
    await c.refundEnded();
    await shot('refund-success');

    await c.home();
    await c.tap(c.tile('transactions'));
    await page.locator('[data-order="DEMO-1001"]').waitFor();
    await shot('transactions');
    await c.tap('[data-order="DEMO-1001"]');
    await page.locator('[data-testid="refund-history"] li').first().waitFor();
    await shot('transaction-detail');

    await c.home();
    await c.tap(c.tile('settlement'));
    await c.tap(page.getByTestId('settle'));
    await page.getByTestId('settlement-result').waitFor();
    await shot('settlement');

    await c.home();
    await c.tap('[data-lang="en"]');
    await shot('home-en');
    await c.tap('[data-lang="zh-CN"]');
  } finally {
    await browser.close();
    await sys.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
