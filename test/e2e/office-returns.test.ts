import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumAvailable, ensureWebBuilt, launchChromium } from '../support/browser.js';
import { decodeQr } from '../support/qr.js';
import {
  signIn as apiSignIn,
  type Client,
  call,
  DEMO,
  orderNo,
  startTestSystem,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

/**
 * QR-code scan returns (扫码退货, issue 12) in the back office, in Debian's Chromium against the
 * whole service on a fresh SQLite store with the bundled simulator (its ledger is the truth about
 * money): the order page shows a return QR that decodes to the API's link; the consumer submits
 * it; the returns page shows it submitted; the goods are inspected (accepted, with a note and a
 * photo) and the refund approved in the review queue, refunded once at the network; a second
 * return, rejected at inspection from the queue, never reaches the network; an open QR is withdrawn.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}

const PAN = testPan('622202100005555');

const ITEMS = [
  { sku: 'TEA-01', name: '龙井茶 250g', qty: 2, unitAmount: 12_800 },
  { sku: 'CUP-02', name: '青瓷茶杯', qty: 1, unitAmount: 6_600 },
];

type Effect = { reference: string; kind: string; amount: number };

/** The smallest valid PNG: one transparent pixel. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

/** The return link's token: the last segment of its path (`/r/<token>`). */
const tokenOf = (url: string) => new URL(url).pathname.split('/').pop() ?? '';

describe.skipIf(!haveChromium)('QR-code scan returns in the back office (Chromium)', () => {
  let sys: TestSystem;
  let browser: Browser;
  let cashier: Client;
  let admin: Client;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await ensureWebBuilt('office');
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-office-returns-'));
    sys = await startTestSystem(`sqlite:${join(dir, 'office.db')}`, {
      network: 'sim',
      dataDir: join(dir, 'data'),
      networkDelayMs: 20,
    });
    browser = await launchChromium();
    cashier = await apiSignIn(sys.base, '01', '1111');
    admin = await apiSignIn(sys.base, '99', '12345678');
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await sys?.close();
  });

  /** Signs in through the office's own page as the supervisor 00. */
  async function office(path = ''): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${sys.base}/office/${path}`);
    await page.locator('input[name="merchantId"]').fill(DEMO.merchantId);
    await page.locator('input[name="operatorNo"]').fill('00');
    await page.locator('input[name="password"]').fill('123456');
    await page.getByTestId('sign-in').click();
    await page.locator('nav[aria-label="office"]').waitFor();
    return page;
  }

  async function sale() {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('QRR'),
      amount: ITEMS.reduce((s, i) => s + i.qty * i.unitAmount, 0),
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
      items: ITEMS,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  }

  /** The consumer's phone: the return page's submission, no sign-in, its own Idempotency-Key. */
  async function submit(url: string) {
    const r = await call(
      sys.base,
      'POST',
      `/v1/consumer/returns/${tokenOf(url)}/submit`,
      { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' }, lang: 'zh-CN' },
      { 'idempotency-key': `c-${randomUUID()}` },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { returnId: string; refundId: string };
  }

  async function ledger(): Promise<Effect[]> {
    const r = await call(
      `http://127.0.0.1:${sys.simulator?.controlPort}`,
      'GET',
      `/ledger?merchantId=${DEMO.merchantId}`,
    );
    return r.body.effects as Effect[];
  }

  it('order page → return QR → consumer submits → inspected with a note and a photo → approved → refunded once', async () => {
    const p = await sale();
    const page = await office(`orders/${p.orderNo}`);
    await page.getByTestId('order-return-qr').click();
    const dialog = page.getByTestId('return-qr-dialog');
    const qty = (sku: string) => dialog.locator(`tr[data-sku="${sku}"] [data-testid="return-qty"]`);
    expect(await dialog.locator('tr[data-sku="TEA-01"] [data-testid="return-left"]').textContent()).toBe('2');
    // More than was bought is refused in the form, before any request.
    await qty('TEA-01').fill('3');
    await dialog.getByTestId('return-qr-make').click();
    await dialog.getByTestId('return-problem').waitFor();
    expect((await admin.call('GET', `/v1/returns?orderNo=${p.orderNo}`)).body.data).toHaveLength(0);

    await qty('TEA-01').fill('2');
    await qty('CUP-02').fill('1');
    expect(await dialog.getByTestId('return-total').textContent()).toBe('¥322.00');
    const answer = page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/returns',
    );
    await dialog.getByTestId('return-qr-make').click();
    const created = (await (await answer).json()) as {
      id: string;
      url: string;
      qrPng: string;
      amount: number;
    };
    expect(created.amount).toBe(32_200);
    // The QR shown is the API's, and it decodes to the API's link; the link is there to copy.
    const image = dialog.getByTestId('return-qr-image');
    await image.waitFor();
    const src = (await image.getAttribute('src')) ?? '';
    expect(src).toBe(`data:image/png;base64,${created.qrPng}`);
    expect(decodeQr(src.slice('data:image/png;base64,'.length))).toBe(created.url);
    expect(decodeQr(await image.screenshot())).toBe(created.url);
    expect(await dialog.getByTestId('return-qr-url').inputValue()).toBe(created.url);
    expect(await dialog.getByTestId('return-qr-amount').textContent()).toBe('¥322.00');
    expect(await dialog.getByTestId('return-qr-status').getAttribute('data-status')).toBe('open');

    // The consumer scans and submits on the phone; the dialog, still open, sees it.
    const { refundId } = await submit(created.url);
    await dialog.locator('[data-testid="return-qr-status"][data-status="submitted"]').waitFor();
    await dialog.getByTestId('dialog-done').click();

    // The returns page lists it submitted, its goods to inspect.
    await page.locator('[data-nav="returns"]').click();
    await page.getByTestId('returns-page').waitFor();
    const row = page.locator(`[data-testid="return-row"][data-return="${created.id}"]`);
    await expect.poll(() => row.getAttribute('data-status')).toBe('submitted');
    expect(await row.textContent()).toContain(p.orderNo);
    expect(await row.textContent()).toContain('2 × 龙井茶 250g');
    await row.getByTestId('inspect').click();

    const inspection = page.getByTestId('inspection-dialog');
    await inspection.getByTestId('inspection-accept').check();
    await inspection.getByTestId('inspection-note').fill('包装完好，茶叶未开封');
    await inspection
      .locator('input[name="evidence"]')
      .setInputFiles({ name: 'goods.png', mimeType: 'image/png', buffer: PNG });
    await inspection.locator('[data-testid="evidence-list"] img').waitFor();
    await inspection.getByTestId('inspection-submit').click();
    await inspection.locator('[data-testid="inspection-done"][data-result="accepted"]').waitFor();

    const ret = (await admin.call('GET', `/v1/returns/${created.id}`)).body;
    expect(ret.inspection).toMatchObject({ result: 'accepted', note: '包装完好，茶叶未开封', by: 'op:00' });
    expect((await admin.call('GET', `/v1/refunds/${refundId}`)).body.status).toBe('under_review');
    expect((await admin.call('GET', `/v1/refunds/${refundId}/evidence`)).body.data).toHaveLength(1);
    await expect
      .poll(() => row.getByTestId('return-inspection').getAttribute('data-result'))
      .toBe('accepted');

    // On to the review queue, the refund open there: the checklist and the refund password.
    await inspection.getByTestId('inspection-to-queue').click();
    const panel = page.getByTestId('review-panel');
    await panel.waitFor();
    expect(await panel.getByTestId('review-amount').textContent()).toBe('¥322.00');
    await panel.locator('input[name="voucherMatches"]').check();
    await panel.locator('input[name="amountMatches"]').check();
    await panel.locator('select[name="goodsCondition"]').selectOption('intact');
    await panel.locator('input[name="approverPassword0"]').fill('123456');
    await panel.getByTestId('approve').click();
    await page
      .locator(
        '[data-testid="review-done"][data-status="processing"], [data-testid="review-done"][data-status="approved"], [data-testid="review-done"][data-status="succeeded"]',
      )
      .waitFor();

    const done = await until(
      async () => (await admin.call('GET', `/v1/refunds/${refundId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );
    expect(done.status).toBe('succeeded');
    const effects = (await ledger()).filter(
      (e) => e.kind === 'refund' && e.reference === done.network.reference,
    );
    expect(effects).toHaveLength(1);
    expect(effects[0]?.amount).toBe(32_200);
  });

  it('a return rejected at inspection from the queue ends rejected and never reaches the network', async () => {
    const p = await sale();
    const created = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'CUP-02', qty: 1 }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { refundId } = await submit(created.body.url);
    const before = (await ledger()).length;

    const page = await office('queue');
    const item = page.locator(`[data-refund="${refundId}"]`);
    // Not offered for acceptance: the goods come first.
    await item.getByTestId('inspect-first').waitFor();
    await item.click();
    const panel = page.getByTestId('review-panel');
    await panel.getByTestId('inspect').waitFor();
    expect(await panel.getByTestId('accept').count()).toBe(0);
    expect(await panel.getByTestId('approve').count()).toBe(0);
    await panel.getByTestId('inspect').click();

    const inspection = page.getByTestId('inspection-dialog');
    await inspection.getByTestId('inspection-reject').check();
    // Rejected needs a note (the consumer reads it): refused in the page, nothing recorded.
    await inspection.getByTestId('inspection-submit').click();
    await inspection.getByTestId('inspection-note-missing').waitFor();
    expect((await admin.call('GET', `/v1/returns/${created.body.id}`)).body.inspection).toBeNull();
    await inspection.getByTestId('inspection-note').fill('茶杯有裂纹，非质量问题');
    await inspection.getByTestId('inspection-submit').click();
    await page.locator('[data-testid="review-done"][data-status="rejected"]').waitFor();
    await expect.poll(() => page.locator(`[data-refund="${refundId}"]`).count()).toBe(0);

    const refund = (await admin.call('GET', `/v1/refunds/${refundId}`)).body;
    expect(refund.status).toBe('rejected');
    const ret = (await admin.call('GET', `/v1/returns/${created.body.id}`)).body;
    expect(ret.inspection).toMatchObject({ result: 'rejected', note: '茶杯有裂纹，非质量问题' });
    expect((await ledger()).length).toBe(before);

    // The returns page shows the outcome.
    await page.locator('[data-nav="returns"]').click();
    const row = page.locator(`[data-testid="return-row"][data-return="${created.body.id}"]`);
    await expect
      .poll(() => row.getByTestId('return-inspection').getAttribute('data-result'))
      .toBe('rejected');
    expect(await row.getByTestId('inspect').count()).toBe(0);
  });

  it("the server's refusal of a return QR shows in words; an open QR is withdrawn and its link stops working", async () => {
    const p = await sale();
    const page = await office(`orders/${p.orderNo}`);
    await page.getByTestId('order-return-qr').click();
    const dialog = page.getByTestId('return-qr-dialog');
    await dialog.locator('tr[data-sku="TEA-01"] [data-testid="return-left"]').waitFor();
    // Meanwhile the terminal shows two QRs for both teas: the form's count is out of date.
    const created = await cashier.call('POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: 'TEA-01', qty: 2 }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await dialog.locator('tr[data-sku="TEA-01"] [data-testid="return-qty"]').fill('1');
    await dialog.getByTestId('return-qr-make').click();
    await expect.poll(() => dialog.locator('.error-box').textContent()).toContain('TEA-01 只剩 0 件可退');
    await dialog.getByTestId('dialog-close').click();

    await page.locator('[data-nav="returns"]').click();
    await page.getByTestId('returns-status').selectOption('open');
    await page.getByTestId('returns-order').fill(p.orderNo);
    await page.getByRole('button', { name: '查询' }).click();
    const row = page.locator(`[data-testid="return-row"][data-return="${created.body.id}"]`);
    await expect.poll(() => row.getAttribute('data-status')).toBe('open');
    await expect.poll(() => page.getByTestId('return-row').count()).toBe(1);
    await row.getByTestId('withdraw').click();
    await page.getByTestId('confirm-yes').click();
    // Filtered on open: it leaves the list; with every status it shows withdrawn.
    await expect.poll(() => row.count()).toBe(0);
    await page.getByTestId('returns-status').selectOption('');
    await page.getByRole('button', { name: '查询' }).click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('canceled');
    const view = await call(sys.base, 'GET', `/v1/consumer/returns/${tokenOf(created.body.url)}`);
    expect(view.body.code).toBe('return_canceled');
    // Its lines are free again.
    expect(
      (await cashier.call('POST', '/v1/returns', { orderNo: p.orderNo, items: [{ sku: 'TEA-01', qty: 2 }] }))
        .status,
    ).toBe(201);
  });
});
