import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumAvailable, ensureWebBuilt, launchChromium } from '../support/browser.js';
import {
  signIn as apiSignIn,
  type Client,
  call,
  DEMO,
  orderNo,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

/**
 * The back office (issue 11) in Debian's Chromium against the whole service on a fresh SQLite
 * store with the bundled simulator (its ledger is the truth about money): sign-in and the
 * cashier's refusal, the dashboard fed by the reports API, and the review queue — accept →
 * review with the checklist → approve → the refund succeeds at the simulator; reject; a risk
 * rule holding a refund that had valid counter approvals.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}

const PAN = testPan('622202100005555');

type Effect = { reference: string; kind: string; amount: number };

/** The smallest valid PNG: one transparent pixel. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

describe.skipIf(!haveChromium)('back office in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let cashier: Client;
  let admin: Client;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await ensureWebBuilt('office');
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-office-'));
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

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return page;
  }

  /** Signs in through the office's own page. */
  async function office(operatorNo: string, password: string, path = ''): Promise<Page> {
    const page = await newPage();
    await page.goto(`${sys.base}/office/${path}`);
    await page.locator('input[name="merchantId"]').fill(DEMO.merchantId);
    await page.locator('input[name="operatorNo"]').fill(operatorNo);
    await page.locator('input[name="password"]').fill(password);
    await page.getByTestId('sign-in').click();
    return page;
  }

  async function sale(amount: number) {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('OFC'),
      amount,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  }

  /** A refund asked for without approvals: it waits in the review queue (申请). */
  async function requestedRefund(amount: number) {
    const p = await sale(amount * 3);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount,
      reason: { code: 'quality_issue' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.status).toBe('requested');
    return r.body as { id: string; orderNo: string; network: { reference: string | null } };
  }

  async function ledger(): Promise<Effect[]> {
    const r = await call(
      `http://127.0.0.1:${sys.simulator?.controlPort}`,
      'GET',
      `/ledger?merchantId=${DEMO.merchantId}`,
    );
    return r.body.effects as Effect[];
  }

  it('a cashier is refused by the page and by every office API call', async () => {
    const page = await office('01', '1111');
    await page.getByTestId('cashier-refused').waitFor();
    expect(await page.locator('nav[aria-label="office"]').count()).toBe(0);
    expect(await page.getByTestId('cashier-refused').getByRole('link').getAttribute('href')).toBe(
      '/terminal/',
    );

    // The office's own functions, each refused to a cashier's (terminal) session.
    const officeCalls: [string, string, unknown?][] = [
      ['GET', '/v1/reports/refunds'],
      ['GET', '/v1/reports/work'],
      ['GET', '/v1/audit'],
      ['GET', '/v1/audit/verify'],
      ['GET', '/v1/operators'],
      ['POST', `/v1/operators/00/unlock`],
      ['PUT', '/v1/policy', { refundsEnabled: false }],
      ['GET', '/v1/reconciliations'],
    ];
    for (const [method, path, body] of officeCalls) {
      const r = await cashier.call(method, path, body, { 'idempotency-key': `k-${orderNo('K')}` });
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(403);
      expect(r.body.code).toBe('forbidden');
    }
  });

  it('a supervisor signs in, sees the dashboard with charts, and switches language', async () => {
    const p = await sale(12_345);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 2_345,
      reason: { code: 'expired_goods' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    const page = await office('00', '123456');
    await page.locator('nav[aria-label="office"]').waitFor();
    // The KPI shows the report's own total, formatted from integer fen.
    const report = (await admin.call('GET', '/v1/reports/refunds')).body;
    const yuan = (fen: number) =>
      `¥${Math.floor(fen / 100).toLocaleString('en-US')}.${String(fen % 100).padStart(2, '0')}`;
    await expect
      .poll(() => page.getByTestId('kpi-refunds').textContent())
      .toBe(yuan(report.totals.refundAmount));
    await page.locator('.chart[data-ready="true"] svg').first().waitFor();
    expect(await page.locator('.chart svg').count()).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.locator('h1').textContent()).toBe('经营概览');
    await page.getByTestId('lang').selectOption('en');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Dashboard');
    await page.getByTestId('lang').selectOption('zh-TW');
    await expect.poll(() => page.locator('h1').textContent()).toBe('經營概覽');
    // ?lang= picks the language too.
    await page.goto(`${sys.base}/office/?lang=en`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Dashboard');
  });

  it('review queue: accept → checklist → approve, and the refund succeeds at the simulator', async () => {
    const refund = await requestedRefund(1_800);
    const page = await office('00', '123456', 'queue');
    const row = page.locator(`[data-refund="${refund.id}"]`);
    await row.click();
    await page.getByTestId('accept').click();
    // Accepted (受理): still in the queue, now under review, and its panel asks for the checklist.
    await page.locator('[data-testid="review-done"][data-status="under_review"]').waitFor();
    expect((await admin.call('GET', `/v1/refunds/${refund.id}`)).body.status).toBe('under_review');
    // An evidence photo (a real 1 × 1 PNG): uploaded, then shown from the API with the session's token.
    await page
      .locator('input[name="evidence"]')
      .setInputFiles({ name: 'voucher.png', mimeType: 'image/png', buffer: PNG });
    const thumb = page.locator('[data-testid="evidence-list"] img');
    await thumb.waitFor();
    await expect.poll(() => thumb.evaluate((img) => (img as { naturalWidth: number }).naturalWidth)).toBe(1);
    // A text file named like a photo is refused in the page; nothing is stored.
    await page
      .locator('input[name="evidence"]')
      .setInputFiles({ name: 'fake.png', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await page.locator('fieldset.evidence .error-box').waitFor();
    expect((await admin.call('GET', `/v1/refunds/${refund.id}/evidence`)).body.data).toHaveLength(1);
    const approve = page.getByTestId('approve');
    await page.locator('input[name="approverPassword0"]').fill('123456');
    expect(await approve.isDisabled()).toBe(true); // the checklist is not done yet
    await page.locator('input[name="voucherMatches"]').check();
    await page.locator('input[name="amountMatches"]').check();
    await page.locator('select[name="goodsCondition"]').selectOption('intact');
    await approve.click();
    await page
      .locator(
        '[data-testid="review-done"][data-status="processing"], [data-testid="review-done"][data-status="approved"], [data-testid="review-done"][data-status="succeeded"]',
      )
      .waitFor();
    // Out of the queue: at the network.
    await expect.poll(() => page.locator(`[data-refund="${refund.id}"]`).count()).toBe(0);
    const done = await until(
      async () => (await admin.call('GET', `/v1/refunds/${refund.id}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );
    expect(done.status).toBe('succeeded');
    const effects = (await ledger()).filter(
      (e) => e.kind === 'refund' && e.reference === done.network.reference,
    );
    expect(effects).toHaveLength(1);
    expect(effects[0]?.amount).toBe(1_800);
  });

  it('review queue: reject needs a reason, then the refund is rejected and never reaches the network', async () => {
    const refund = await requestedRefund(900);
    const before = (await ledger()).length;
    const page = await office('00', '123456', 'queue');
    await page.locator(`[data-refund="${refund.id}"]`).click();
    await page.getByTestId('reject').click();
    await page.locator('[data-testid="review-panel"] .error-box').waitFor();
    expect((await admin.call('GET', `/v1/refunds/${refund.id}`)).body.status).toBe('requested');
    await page.locator('input[name="rejectNote"]').fill('凭证与交易记录不符');
    await page.getByTestId('reject').click();
    await page.locator('[data-testid="review-done"][data-status="rejected"]').waitFor();
    const after = (await admin.call('GET', `/v1/refunds/${refund.id}`)).body;
    expect(after.status).toBe('rejected');
    expect((await ledger()).length).toBe(before);
  });

  it('a risk rule holds a counter refund with valid approvals, and the queue says which rule', async () => {
    const policy = (await admin.call('GET', '/v1/policy')).body;
    const key = () => ({ 'idempotency-key': `k-${orderNo('K')}` });
    const put = await admin.call(
      'PUT',
      '/v1/policy',
      { ...policy, riskRules: { ...policy.riskRules, shareOfDaySalesPercent: 1 } },
      key(),
    );
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    try {
      const p = await sale(50_000);
      const before = (await ledger()).length;
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: p.id,
        amount: 40_000,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.status).toBe('requested');
      expect(r.body.hold.rule).toBe('share_of_day_sales');
      expect((await ledger()).length).toBe(before);
      const page = await office('00', '123456', 'queue');
      await page.locator(`[data-refund="${r.body.id}"]`).click();
      await expect
        .poll(() => page.getByTestId('hold-rule').textContent())
        .toContain('退款超过当日销售额的比例上限');
    } finally {
      await admin.call('PUT', '/v1/policy', policy, key());
    }
  });
});
