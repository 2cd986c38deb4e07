import { mkdtempSync, readFileSync } from 'node:fs';
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
  type TestSystem,
  testPan,
} from '../support/system.js';

/**
 * The back office's order management (订单管理), one order's page with its timeline and actions,
 * and off-site refunds (收款管理, seed 004), driven through the real pages in Debian's Chromium
 * against the whole service on a fresh SQLite store with the bundled simulator on the network
 * side (ISO 8583 card link), so the timeline shows real messages and the simulator's ledger can
 * be read back.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}
if (!haveChromium) {
  process.stderr.write(`note: ${CHROMIUM} not found; the office orders browser tests are skipped\n`);
}

const PAN = testPan('622202100007777');

interface Effect {
  reference: string;
  kind: string;
  amount: number;
  merchantId: string;
}

describe.skipIf(!haveChromium)('back office orders in Chromium', { timeout: 90_000 }, () => {
  let sys: TestSystem;
  let browser: Browser;
  let cashier: Client;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await ensureWebBuilt('office');
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-office-orders-'));
    sys = await startTestSystem(`sqlite:${join(dir, 'office.db')}`, {
      network: 'sim',
      dataDir: join(dir, 'data'),
    });
    browser = await launchChromium();
    cashier = await apiSignIn(sys.base, '01', '1111');
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await sys?.close();
  });

  /** A card sale at the terminal, through the simulator. */
  async function pay(amount: number) {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('OFF'),
      amount,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  }

  /** A fresh browser signed in to the back office through its sign-in page. */
  async function office(operatorNo = '00', password = '123456'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    // Password hashing is memory-hard and the machine may be busy: generous, but inside the test's limit.
    page.setDefaultTimeout(20_000);
    await page.goto(`${sys.base}/office/`);
    await page.getByTestId('sign-in').waitFor();
    await page.locator('input[name="merchantId"]').fill(DEMO.merchantId);
    await page.locator('input[name="operatorNo"]').fill(operatorNo);
    await page.locator('input[name="password"]').fill(password);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').waitFor();
    return page;
  }

  async function ledger(): Promise<Effect[]> {
    const port = sys.simulator?.controlPort;
    if (!port) throw new Error('the simulator runs in this suite');
    return (await call(`http://127.0.0.1:${port}`, 'GET', '/ledger')).body.effects as Effect[];
  }

  const timelineTitles = (page: Page) =>
    page
      .getByTestId('timeline-entry')
      .evaluateAll((els) => els.map((e) => (e as unknown as { dataset: { title: string } }).dataset.title));

  it('finds an order by its number and by an amount range, and opens it on its timeline with the sale', async () => {
    const sale = await pay(31_415);
    const other = await pay(31_500);
    const page = await office();
    await page.locator('[data-nav="orders"]').click();

    await page.getByTestId('filter-orderNo').fill(sale.orderNo);
    await page.getByTestId('search').click();
    await page.waitForURL(/\/office\/orders\?orderNo=/);
    await expect.poll(() => page.getByTestId('order-row').count()).toBe(1);
    expect(await page.getByTestId('order-row').getAttribute('data-order')).toBe(sale.orderNo);

    // With the order number still in: merchant days (Asia/Shanghai) — today finds it, a range that ended yesterday does not.
    const day = (offsetDays: number) =>
      new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(
        Date.now() + offsetDays * 86_400_000,
      );
    await page.getByTestId('filter-from').fill(day(0));
    await page.getByTestId('filter-to').fill(day(0));
    await page.getByTestId('search').click();
    await page.waitForURL(new RegExp(`from=${day(0)}&to=${day(0)}`));
    await expect.poll(() => page.getByTestId('order-row').count()).toBe(1);
    await page.getByTestId('filter-from').fill(day(-2));
    await page.getByTestId('filter-to').fill(day(-1));
    await page.getByTestId('search').click();
    await page.waitForURL(new RegExp(`to=${day(-1)}`));
    await page.getByText('没有符合条件的交易。').waitFor();

    // ¥314.00 – ¥314.20 in yuan: this sale, not the ¥315.00 one; the search is in the link.
    await page.getByTestId('clear-filters').click();
    await page.getByTestId('filter-amountMin').fill('314');
    await page.getByTestId('filter-amountMax').fill('314.20');
    await page.getByTestId('search').click();
    await page.waitForURL(/amountMin=314&amountMax=314.20/);
    await page.locator(`[data-testid="order-row"][data-order="${sale.orderNo}"]`).waitFor();
    expect(await page.locator(`[data-order="${other.orderNo}"]`).count()).toBe(0);
    const amounts = await page.locator('[data-testid="order-row"] td:nth-child(4)').allTextContents();
    expect(amounts.length).toBeGreaterThan(0);
    for (const a of amounts) expect(a).toBe('¥314.15');

    // The export has the same filters: Excel-ready CSV (BOM), this order in it, the other not.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-csv').click(),
    ]);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv).toContain(sale.orderNo);
    expect(csv).not.toContain(other.orderNo);

    // A wrong amount is refused in the page, in words.
    await page.getByTestId('filter-amountMax').fill('3.141');
    await page.getByTestId('search').click();
    await page.getByText('金额最多两位小数（分）。').waitFor();

    // The link, loaded afresh, runs the same search and shows it in the fields.
    await page.goto(`${sys.base}/office/orders?amountMin=314&amountMax=314.20`);
    await page.locator(`[data-order="${sale.orderNo}"]`).waitFor();
    expect(await page.getByTestId('filter-amountMax').inputValue()).toBe('314.20');

    await page.goto(`${sys.base}/office/orders?orderNo=${sale.orderNo}`);
    await page.locator(`[data-order="${sale.orderNo}"]`).click();
    await page.waitForURL(new RegExp(`/office/orders/${sale.orderNo}$`));
    await page.locator('[data-testid="timeline-entry"][data-kind="sale"]').waitFor();
    // The request leaves before the sale is captured; the network's answer (00, in words) follows.
    const titles = await timelineTitles(page);
    expect(titles).toContain('sale.captured');
    expect(titles.indexOf('network.sale.sent')).toBeLessThan(titles.indexOf('network.sale.approved'));
    const approved = page.locator('[data-title="network.sale.approved"] [data-testid="response-code"]');
    expect(await approved.getAttribute('data-code')).toBe('00');
    const sold = page.locator('[data-testid="timeline-entry"][data-title="sale.captured"]');
    expect(await sold.textContent()).toContain('¥314.15');
    expect(await page.getByTestId('refundable').textContent()).toBe('¥314.15');
  });

  it('refunds part of an order with a supervisor approval: the timeline shows the refund and its network answer, and the simulator’s ledger has it', async () => {
    const sale = await pay(25_000);
    const page = await office();
    await page.goto(`${sys.base}/office/orders/${sale.orderNo}`);
    await page.getByTestId('action-refund').click();
    const dialog = page.getByTestId('refund-dialog');
    await dialog.locator('select[name="reason"]').selectOption('quality_issue');
    await dialog.getByTestId('amount').fill('60.5');
    await dialog.getByTestId('refund-next').click();
    // What will happen, before anyone approves.
    expect(await dialog.getByTestId('confirm-amount').textContent()).toBe('¥60.50');
    // The signed-in supervisor's number is filled in; a wrong password is refused in words.
    expect(await dialog.getByTestId('approver-no-0').inputValue()).toBe('00');
    await dialog.getByTestId('approver-password-0').fill('000000');
    await dialog.getByTestId('refund-submit').click();
    await dialog.locator('.error-box').waitFor();
    expect(await dialog.getByTestId('approver-password-0').inputValue()).toBe('');
    await dialog.getByTestId('approver-password-0').fill('123456');
    await dialog.getByTestId('refund-submit').click();
    await dialog.getByTestId('action-result').waitFor();
    await dialog.getByTestId('dialog-done').click();

    const entry = (title: string) => page.locator(`[data-testid="timeline-entry"][data-title="${title}"]`);
    await entry('refund.succeeded').waitFor({ timeout: 30_000 });
    await entry('network.refund.approved').first().waitFor();
    const answer = entry('network.refund.approved').locator('[data-testid="response-code"]').last();
    expect(await answer.getAttribute('data-code')).toBe('00');
    expect((await answer.textContent())?.length).toBeGreaterThan('应答码 00 '.length);
    expect(await entry('refund.created').first().textContent()).toContain('¥60.50');
    await expect.poll(() => page.getByTestId('refunded').textContent()).toBe('¥60.50');
    expect(await page.getByTestId('refundable').textContent()).toBe('¥189.50');

    const refund = (await cashier.call('GET', `/v1/refunds?orderNo=${sale.orderNo}`)).body.data[0];
    expect(refund).toMatchObject({ amount: 6_050, status: 'succeeded', approvals: [{ operatorNo: '00' }] });
    const effects = await ledger();
    expect(effects).toContainEqual(
      expect.objectContaining({ kind: 'refund', amount: 6_050, reference: refund.network.reference }),
    );
  });

  it('lowers an order’s amount from the order page: the difference is refunded and the revision kept', async () => {
    const sale = await pay(15_000);
    const page = await office();
    await page.goto(`${sys.base}/office/orders/${sale.orderNo}`);
    await page.getByTestId('action-adjust').click();
    const dialog = page.getByTestId('adjust-dialog');
    expect(await dialog.getByTestId('originalAmount').inputValue()).toBe('150');
    await dialog.getByTestId('newAmount').fill('120');
    await dialog.getByTestId('adjust-next').click();
    expect(await dialog.getByTestId('adjust-confirm').textContent()).toContain('¥30.00');
    await dialog.getByTestId('approver-password-0').fill('123456');
    await dialog.getByTestId('adjust-submit').click();
    expect(await dialog.getByTestId('adjust-difference').textContent()).toBe('-¥30.00');
    await dialog.getByTestId('dialog-done').click();
    await page.getByTestId('revisions').waitFor();
    await page.locator('[data-testid="timeline-entry"][data-title="order.adjusted"]').waitFor();
    await expect.poll(() => page.getByTestId('current-amount').textContent()).toBe('¥120.00');
  });

  it('voids an unsettled sale from the order page', async () => {
    const sale = await pay(8_800);
    const page = await office();
    await page.goto(`${sys.base}/office/orders/${sale.orderNo}`);
    await page.getByTestId('action-void').click();
    const dialog = page.getByTestId('void-dialog');
    expect(await dialog.getByTestId('void-amount').textContent()).toBe('¥88.00');
    await dialog.getByTestId('approver-password-0').fill('123456');
    await dialog.getByTestId('void-submit').click();
    await dialog.getByTestId('action-result').waitFor();
    await dialog.getByTestId('dialog-done').click();

    await page.locator('[data-testid="timeline-entry"][data-kind="void"]').waitFor();
    await expect.poll(() => page.getByTestId('order-status').textContent()).toBe('已撤销');
    expect(await page.getByTestId('action-void').isDisabled()).toBe(true);
    const p = (await cashier.call('GET', `/v1/payments/${sale.id}`)).body;
    expect(p.status).toBe('voided');
  });

  it('refuses an off-site bank-transfer refund whose account was mistyped the second time, then queues the corrected one with the account masked', async () => {
    const sale = await pay(12_000);
    const page = await office();
    await page.goto(`${sys.base}/office/orders/${sale.orderNo}`);
    await page.getByTestId('action-collect').click();
    await page.waitForURL(/\/office\/collect\?orderNo=/);
    expect(await page.getByTestId('collect-orderNo').inputValue()).toBe(sale.orderNo);
    const form = page.getByTestId('collect-form');
    await form.getByTestId('amount').fill('45');
    await form.getByTestId('method-bank_transfer').check();
    await form.getByTestId('bankAccount').fill('6222 0212 3456 7890');
    // The second entry is typed (pasting is refused); a slip shows at once.
    await form.getByTestId('bankAccountConfirm').click();
    await page.keyboard.type('622202123456780');
    await form.getByTestId('mismatch-bankAccount').waitFor();
    await page.keyboard.type('9');
    await form.getByTestId('name').fill('张三');
    await form.getByTestId('nameConfirm').fill('张三');
    await form.getByTestId('collect-next').click();
    await form.getByTestId('collect-problem').waitFor();
    expect(await form.getByTestId('collect-problem').textContent()).toContain('银行账号不一致');
    expect(await page.getByTestId('collect-confirm').count()).toBe(0);
    // Nothing reached the API.
    expect((await cashier.call('GET', `/v1/refunds?orderNo=${sale.orderNo}`)).body.data).toEqual([]);

    await form.getByTestId('bankAccountConfirm').fill('6222021234567890');
    expect(await form.getByTestId('mismatch-bankAccount').count()).toBe(0);
    await form.getByTestId('collect-next').click();
    const confirm = page.getByTestId('collect-confirm');
    expect(await confirm.getByTestId('confirm-account').textContent()).toBe('****7890');
    expect(await confirm.getByTestId('collect-what').textContent()).toContain('审核');
    await confirm.getByTestId('collect-submit').click();

    const result = page.getByTestId('collect-result');
    await result.waitFor();
    expect(await result.getByTestId('collect-status').getAttribute('data-status')).toBe('requested');
    expect(await result.getByTestId('masked-account').textContent()).toBe('****7890');
    expect(await result.textContent()).not.toContain('6222021234567890');
    const refunds = (await cashier.call('GET', `/v1/refunds?orderNo=${sale.orderNo}`)).body.data;
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount: 4_500, method: 'bank_transfer', status: 'requested' });

    await result.getByTestId('go-queue').click();
    await page.waitForURL(/\/office\/queue$/);
    await page.locator(`[data-refund="${refunds[0].id}"]`).waitFor();
  });
});
