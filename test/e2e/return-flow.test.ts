import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumAvailable, ensureWebBuilt, launchChromium, PHONE } from '../support/browser.js';
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
 * The whole QR-code scan return (扫码退货, issue 12) with nobody but the pages: the consumer's phone
 * (360 × 640, touch) opens the return link and submits; the supervisor inspects the goods in the
 * back office and approves the refund with the checklist; the status page, never reloaded, walks
 * 已提交 → 商家审核 → 已退款 and names the network's reference. The bundled simulator's ledger is
 * the judge of the money: exactly one refund of the returned lines' amount.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}

const PAN = testPan('622202100007777');
const ITEMS = [
  { sku: 'TEA-01', name: '龙井茶 250g', qty: 2, unitAmount: 12_800 },
  { sku: 'CUP-02', name: '青瓷茶杯', qty: 1, unitAmount: 6_600 },
];
type Effect = { reference: string; kind: string; amount: number };

/** The page polls every few seconds: give a change a few rounds to show. */
const POLL = { timeout: 20_000, interval: 200 };

describe.skipIf(!haveChromium)('a QR-code return from the phone to 已退款 (Chromium)', () => {
  let sys: TestSystem;
  let browser: Browser;
  let cashier: Client;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await ensureWebBuilt('consumer');
    await ensureWebBuilt('office');
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-return-flow-'));
    sys = await startTestSystem(`sqlite:${join(dir, 'flow.db')}`, {
      network: 'sim',
      dataDir: join(dir, 'data'),
      networkDelayMs: 20,
    });
    browser = await launchChromium();
    cashier = await apiSignIn(sys.base, '01', '1111');
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await sys?.close();
  });

  async function context(options: Parameters<Browser['newContext']>[0]): Promise<Page> {
    const c = await browser.newContext(options);
    contexts.push(c);
    const page = await c.newPage();
    page.setDefaultTimeout(10_000);
    return page;
  }

  async function ledger(): Promise<Effect[]> {
    const r = await call(
      `http://127.0.0.1:${sys.simulator?.controlPort}`,
      'GET',
      `/ledger?merchantId=${DEMO.merchantId}`,
    );
    return r.body.effects as Effect[];
  }

  it('the consumer submits on the phone, the office inspects and approves, the status page shows 已退款', async () => {
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('FLOW'),
      amount: ITEMS.reduce((s, i) => s + i.qty * i.unitAmount, 0),
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '3012' },
      items: ITEMS,
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    // The cashier shows a QR for one tea and the cup (the terminal's screen has its own suite).
    const qr = await cashier.call('POST', '/v1/returns', {
      orderNo: sale.body.orderNo,
      items: [
        { sku: 'TEA-01', qty: 1 },
        { sku: 'CUP-02', qty: 1 },
      ],
    });
    expect(qr.status, JSON.stringify(qr.body)).toBe(201);
    // What the phone's camera reads is the link it opens.
    const url = decodeQr(qr.body.qrPng as string) ?? '';
    expect(url).toBe(qr.body.url);

    // The phone: the return page, a reason, a phone number, submit once.
    const phone = await context({
      ...PHONE,
      locale: 'zh-CN',
    });
    await phone.goto(url);
    await expect.poll(() => phone.getByTestId('total').textContent(), POLL).toBe('¥194.00');
    await phone.getByTestId('reason-quality_issue').tap();
    await phone.getByTestId('contact-phone').fill('13800138000');
    await phone.getByTestId('submit').tap();
    await phone.waitForURL(/\/t\/[A-Za-z0-9_-]{32}$/);
    const stage = phone.getByTestId('stage');
    await expect.poll(() => stage.getAttribute('data-stage'), POLL).toBe('submitted');
    expect(await stage.textContent()).toBe('已提交');
    // A mark in this document: it would be gone after a reload or a navigation.
    await phone.evaluate('window.sameDocument = true');

    // The back office: the returns page lists it submitted; the goods are inspected and accepted.
    const office = await context({ viewport: { width: 1440, height: 900 } });
    await office.goto(`${sys.base}/office/returns`);
    await office.locator('input[name="merchantId"]').fill(DEMO.merchantId);
    await office.locator('input[name="operatorNo"]').fill('00');
    await office.locator('input[name="password"]').fill('123456');
    await office.getByTestId('sign-in').click();
    await office.getByTestId('returns-page').waitFor();
    const row = office.locator(`[data-testid="return-row"][data-return="${qr.body.id}"]`);
    await expect.poll(() => row.getAttribute('data-status'), POLL).toBe('submitted');
    await row.getByTestId('inspect').click();
    const inspection = office.getByTestId('inspection-dialog');
    await inspection.getByTestId('inspection-accept').check();
    await inspection.getByTestId('inspection-note').fill('茶叶未开封，杯子完好');
    await inspection.getByTestId('inspection-submit').click();
    await inspection.locator('[data-testid="inspection-done"][data-result="accepted"]').waitFor();

    // The phone, untouched, moves on to 商家审核.
    await expect.poll(() => stage.getAttribute('data-stage'), POLL).toBe('reviewing');
    expect(await stage.textContent()).toBe('商家审核');

    // The review queue: the checklist and the supervisor's refund password.
    await inspection.getByTestId('inspection-to-queue').click();
    const panel = office.getByTestId('review-panel');
    await panel.waitFor();
    expect(await panel.getByTestId('review-amount').textContent()).toBe('¥194.00');
    await panel.locator('input[name="voucherMatches"]').check();
    await panel.locator('input[name="amountMatches"]').check();
    await panel.locator('select[name="goodsCondition"]').selectOption('intact');
    await panel.locator('input[name="approverPassword0"]').fill('123456');
    await panel.getByTestId('approve').click();

    // The phone shows 已退款 by itself, with the reference the consumer's bank can trace.
    await expect.poll(() => stage.getAttribute('data-stage'), POLL).toBe('refunded');
    expect(await stage.textContent()).toBe('已退款');
    expect(await phone.evaluate('window.sameDocument')).toBe(true);
    const ret = (await cashier.call('GET', `/v1/returns/${qr.body.id}`)).body;
    const refund = await until(
      async () => (await cashier.call('GET', `/v1/refunds/${ret.refundId}`)).body,
      (r) => r.status === 'succeeded',
    );
    expect(await phone.getByTestId('refund-no').textContent()).toBe(refund.id);
    expect(await phone.getByTestId('network-ref').textContent()).toContain(refund.network.reference);

    // The network holds exactly this refund, once, for the returned lines.
    const effects = (await ledger()).filter(
      (e) => e.kind === 'refund' && e.reference === refund.network.reference,
    );
    expect(effects).toEqual([expect.objectContaining({ amount: 19_400 })]);
  });
});
