import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumAvailable, ensureTerminalBuilt, launchChromium } from '../support/browser.js';
import { decodeQr } from '../support/qr.js';
import {
  signIn as apiSignIn,
  type Client,
  call,
  orderNo,
  startTestSystem,
  type TestSystem,
} from '../support/system.js';
import { Cashier } from './driver.js';

/**
 * The terminal's QR-code scan return (扫码退货, issue 12) in Debian's Chromium against the whole
 * service: the cashier finds the sale, picks the returned lines (never more than is left), shows
 * the QR — whose pixels decode to exactly the link the API made — prints its slip, sees the
 * consumer's submission arrive without a reload, and withdraws another QR.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}

const ITEMS = [
  { sku: 'TEA-01', name: '龙井茶 250g', qty: 2, unitAmount: 12_800 },
  { sku: 'CUP-02', name: '青瓷茶杯', qty: 1, unitAmount: 6_600 },
];

/** print() on any frame counted instead of opening the browser's print dialog (a string: no DOM types here). */
const COUNT_PRINTS = `
  window.__prints = 0;
  const desc = Object.getOwnPropertyDescriptor(HTMLIFrameElement.prototype, 'contentWindow');
  Object.defineProperty(HTMLIFrameElement.prototype, 'contentWindow', {
    get() {
      const frame = desc.get.call(this);
      if (frame) frame.print = () => { window.__prints++; };
      return frame;
    },
  });`;

describe.skipIf(!haveChromium)('QR-code scan return on the terminal in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let api: Client;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await ensureTerminalBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-e2e-returns-'));
    sys = await startTestSystem(`sqlite:${join(dir, 'e2e.db')}`, { dataDir: join(dir, 'data') });
    browser = await launchChromium();
    api = await apiSignIn(sys.base, '01', '1111');
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await sys?.close();
  });

  async function terminal(): Promise<Cashier> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    await context.addInitScript({ content: COUNT_PRINTS });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return new Cashier(page);
  }

  async function sale(): Promise<{ id: string; orderNo: string }> {
    const r = await api.call('POST', '/v1/payments', {
      orderNo: orderNo('QRT'),
      amount: ITEMS.reduce((s, i) => s + i.qty * i.unitAmount, 0),
      currency: 'CNY',
      method: 'cash',
      items: ITEMS,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  }

  /** 扫码退货 → scan the receipt → the lines of the sale. */
  async function openReturn(c: Cashier, order: string): Promise<void> {
    await c.tap(c.tile('returns'));
    await c.scan(order);
    await c.page.getByTestId('return-lines').waitFor();
  }

  /** Taps + on a line `n` times. */
  async function more(c: Cashier, sku: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await c.tap(c.page.getByTestId(`qty-inc-${sku}`));
  }

  /** Creates the QR and answers the API's 201 body as the page received it. */
  async function createQr(c: Cashier): Promise<{ id: string; url: string; amount: number }> {
    const [response] = await Promise.all([
      c.page.waitForResponse((r) => r.url().endsWith('/v1/returns') && r.request().method() === 'POST'),
      c.tap(c.page.getByTestId('return-create')),
    ]);
    expect(response.status()).toBe(201);
    expect(response.request().headers()['idempotency-key']).toMatch(/^web-/);
    await c.page.getByTestId('return-qr').waitFor();
    return (await response.json()) as { id: string; url: string; amount: number };
  }

  it('shows a return QR for the chosen lines, prints its slip, and sees the consumer submit it', async () => {
    const p = await sale();
    const c = await terminal();
    await c.signIn(sys.base);
    await openReturn(c, p.orderNo);

    // Never more than bought: two teas, one cup.
    await more(c, 'TEA-01', 2);
    expect(await c.page.getByTestId('qty-TEA-01').textContent()).toBe('2');
    expect(await c.page.getByTestId('qty-inc-TEA-01').isDisabled()).toBe(true);
    await c.page.getByTestId('qty-inc-TEA-01').click({ force: true });
    expect(await c.page.getByTestId('qty-TEA-01').textContent()).toBe('2');
    await more(c, 'CUP-02', 1);
    expect(await c.page.getByTestId('qty-inc-CUP-02').isDisabled()).toBe(true);
    await c.tap(c.page.getByTestId('qty-dec-TEA-01'));
    expect(await c.page.getByTestId('return-total').textContent()).toBe('¥194.00');

    const created = await createQr(c);
    expect(created.amount).toBe(19_400);
    // The pixels on the screen are the link the API made.
    const src = (await c.page.getByTestId('return-qr').getAttribute('src')) ?? '';
    expect(src.startsWith('data:image/png;base64,')).toBe(true);
    expect(decodeQr(src.slice('data:image/png;base64,'.length))).toBe(created.url);
    // Large and crisp: at least ~280 CSS px, drawn pixelated.
    const qr = c.page.getByTestId('return-qr');
    const box = await qr.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThanOrEqual(280);
    expect(
      await qr.evaluate(
        'getComputedStyle(document.querySelector(\'[data-testid="return-qr"]\')).imageRendering',
      ),
    ).toBe('pixelated');
    expect(await c.page.getByTestId('return-amount').textContent()).toBe('¥194.00');
    expect(await c.page.getByTestId('return-items').textContent()).toBe('龙井茶 250g × 1，青瓷茶杯 × 1');
    expect(await c.page.getByTestId('return-countdown').textContent()).toMatch(/^(30:00|29:\d\d) 后失效$/);
    expect(await c.page.getByTestId('return-status').getAttribute('data-status')).toBe('open');
    expect(await c.page.getByTestId('return-status').textContent()).toBe('等待顾客扫码');

    // The slip: merchant, order, lines, amount, the same QR and its expiry; printed once.
    await c.tap(c.page.getByTestId('return-print'));
    const slip = c.page.frameLocator('[data-testid="return-slip"]').locator('body');
    await expect.poll(() => slip.textContent(), { timeout: 10_000 }).toContain(p.orderNo);
    const slipText = (await slip.textContent()) ?? '';
    expect(slipText).toContain('¥194.00');
    expect(slipText).toContain('龙井茶 250g × 1');
    expect(slipText).toContain('有效期至');
    const slipQr = (await slip.locator('img').getAttribute('src')) ?? '';
    expect(decodeQr(slipQr.slice('data:image/png;base64,'.length))).toBe(created.url);
    await expect.poll(() => c.page.evaluate('window.__prints')).toBe(1);
    await c.press('Escape');

    // The consumer submits on their phone; the terminal follows without a reload.
    const token = new URL(created.url).pathname.split('/').pop() ?? '';
    const submitted = await call(
      sys.base,
      'POST',
      `/v1/consumer/returns/${token}/submit`,
      { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' }, lang: 'zh-CN' },
      { 'idempotency-key': `consumer-${created.id}` },
    );
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const status = c.page.locator('[data-testid="return-status"][data-status="submitted"]');
    await status.waitFor({ timeout: 10_000 });
    expect(await status.textContent()).toBe('顾客已提交');
    expect(await c.page.getByTestId('return-submitted').textContent()).toContain(submitted.body.refundId);
    expect(await c.page.getByTestId('return-qr').count()).toBe(0);
  });

  it('withdraws a return QR after asking, and the API shows it canceled', async () => {
    const p = await sale();
    const c = await terminal();
    await c.signIn(sys.base);
    await openReturn(c, p.orderNo);
    await more(c, 'CUP-02', 1);
    const created = await createQr(c);

    await c.tap(c.page.getByTestId('return-withdraw'));
    await c.tap(c.page.getByTestId('return-withdraw-confirm'));
    const status = c.page.locator('[data-testid="return-status"][data-status="canceled"]');
    await status.waitFor();
    expect(await status.textContent()).toBe('已撤回');
    const r = await api.call('GET', `/v1/returns/${created.id}`);
    expect(r.body.status).toBe('canceled');
  });

  it('lists the open QRs of this terminal, counts their lines as taken, and shows one again', async () => {
    const p = await sale();
    const first = await terminal();
    await first.signIn(sys.base);
    await openReturn(first, p.orderNo);
    await more(first, 'TEA-01', 1);
    const created = await createQr(first);

    // Back on the return screen: the open QR is listed, and one tea is left for another return.
    await first.tap(first.page.getByTestId('new-return'));
    const row = first.page.locator(`[data-testid="open-returns"] [data-return="${created.id}"]`);
    await row.waitFor();
    await first.scan(p.orderNo);
    await first.page.getByTestId('return-lines').waitFor();
    await more(first, 'TEA-01', 1);
    expect(await first.page.getByTestId('qty-inc-TEA-01').isDisabled()).toBe(true);

    await first.press('Escape');
    await first.tap(row);
    const src = (await first.page.getByTestId('return-qr').getAttribute('src')) ?? '';
    expect(decodeQr(src.slice('data:image/png;base64,'.length))).toBe(created.url);
    expect(await first.page.getByTestId('return-status').getAttribute('data-status')).toBe('open');
  });

  it('shows the server’s refusal in words when the lines went to another return meanwhile', async () => {
    const p = await sale();
    const c = await terminal();
    await c.signIn(sys.base);
    await openReturn(c, p.orderNo);
    await more(c, 'CUP-02', 1);
    // Another till takes the only cup first.
    const other = await api.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'CUP-02', qty: 1 }],
    });
    expect(other.status).toBe(201);
    await c.tap(c.page.getByTestId('return-create'));
    await expect.poll(() => c.page.getByRole('alert').textContent()).toContain('商品 CUP-02 只剩 0 件可退');
    // What is left is read again: the cup can no longer be chosen.
    await expect.poll(() => c.page.getByTestId('left-CUP-02').textContent()).toBe('可退 0 件');
    expect(await c.page.getByTestId('qty-CUP-02').textContent()).toBe('0');
    expect(await c.page.getByTestId('qty-inc-CUP-02').isDisabled()).toBe(true);
    expect(await c.page.getByTestId('return-qr').count()).toBe(0);
  });
});
