import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumAvailable, ensureTerminalBuilt, launchChromium } from '../support/browser.js';
import {
  signIn as apiSignIn,
  type Client,
  orderNo,
  startTestSystem,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';
import { Cashier } from './driver.js';

/**
 * The cashier terminal (issue #5) driven through the real page in Debian's Chromium, against the
 * whole service on a fresh SQLite store with the in-process network. Each test opens a fresh
 * browser context (empty storage) on the one service.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}
if (!haveChromium) {
  process.stderr.write(
    `note: ${CHROMIUM} not found; the terminal browser tests are skipped (apt-get install chromium)\n`,
  );
}

const PAN = testPan('622202100004321');

/**
 * Runs in every page before the app: optionally a supervisor number remembered from an earlier
 * approval on this terminal, and print() on the voucher frame counted instead of opening the
 * browser's print dialog. A string, since this project's test types have no DOM.
 */
function browserSetup(supervisorNo: string | null): string {
  return `
    if (${JSON.stringify(supervisorNo)} && !localStorage.getItem('rd.terminal.lastSupervisor'))
      localStorage.setItem('rd.terminal.lastSupervisor', ${JSON.stringify(supervisorNo)});
    window.__prints = 0;
    const desc = Object.getOwnPropertyDescriptor(HTMLIFrameElement.prototype, 'contentWindow');
    Object.defineProperty(HTMLIFrameElement.prototype, 'contentWindow', {
      get() {
        const frame = desc.get.call(this);
        if (frame) frame.print = () => { window.__prints++; };
        return frame;
      },
    });`;
}

describe.skipIf(!haveChromium)('cashier terminal in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let api: Client;
  let offsetMs = 0;
  let dataDir = '';
  const contexts: BrowserContext[] = [];
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    await ensureTerminalBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-e2e-'));
    dataDir = join(dir, 'data');
    // No SMS gateway or SMTP server: vouchers sent land in DATA_DIR/sms.log and DATA_DIR/mail/.
    sys = await startTestSystem(
      `sqlite:${join(dir, 'e2e.db')}`,
      { dataDir },
      { clock: () => new Date(Date.now() + offsetMs) },
    );
    browser = await launchChromium();
    api = await apiSignIn(sys.base, '01', '1111');
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await sys?.close();
    if (Object.keys(measured).length > 0)
      process.stdout.write(`terminal measurements: ${JSON.stringify(measured)}\n`);
  });

  /** A fresh terminal (empty storage); `supervisor` pretends one approved here before. */
  async function terminal(opts: { supervisor?: string } = {}): Promise<Cashier> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    await context.addInitScript({ content: browserSetup(opts.supervisor ?? null) });
    const page = await context.newPage();
    // Fail on a missing element well inside the test's own time limit, naming the element.
    page.setDefaultTimeout(10_000);
    return new Cashier(page);
  }

  async function pay(amount: number, extra: Record<string, unknown> = {}) {
    const r = await api.call('POST', '/v1/payments', {
      orderNo: orderNo('E2E'),
      amount,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
      ...extra,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  }

  async function startRefund(c: Cashier, reason: string, order: string) {
    await c.tap(c.tile('refund'));
    await c.tap(c.reason(reason));
    await c.page.getByTestId('search').waitFor();
    await c.scan(order);
    await c.page.getByTestId('refundable').waitFor();
  }

  let fullRefundId = '';

  it('serves the built terminal at /terminal/, redirects /terminal and falls back to the app', async () => {
    const bare = await fetch(`${sys.base}/terminal?lang=en`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/terminal/?lang=en');
    const index = await fetch(`${sys.base}/terminal/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="app">');
    const deep = await fetch(`${sys.base}/terminal/refund/anything`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toContain('text/html');
    const missing = await fetch(`${sys.base}/terminal/assets/missing.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });

  it('takes a partial refund from the home screen in a handful of taps (measured)', async () => {
    const c = await terminal({ supervisor: '00' });
    await c.signIn(sys.base);
    await c.page.getByTestId('network').getByText('网络正常').waitFor();
    c.resetCount();
    // The minimum path: 退货 → reason → tap the sale in the recent list → ¥30 → next → confirm → password → approve.
    await c.tap(c.tile('refund'));
    await c.tap(c.reason('quality_issue'));
    await c.tap('[data-order="DEMO-1001"]');
    await c.keypad('30');
    await c.ok();
    await c.tap(c.page.getByTestId('confirm-refund'));
    await c.keypad('123456');
    await c.ok();
    await c.page.getByTestId('refund-result').waitFor();
    measured.partialRefundTaps = c.actions;
    expect(await c.refundEnded()).toBe('succeeded');
    expect(c.actions).toBeLessThanOrEqual(14);
    expect(await c.resultTitle()).toBe('退款成功');
    expect(await c.page.getByTestId('amount').textContent()).toBe('¥30.00');
    expect(await c.page.getByTestId('fee').textContent()).toBe('¥0.00');
    expect(await c.page.getByTestId('net').textContent()).toBe('¥30.00');
    expect(await c.page.getByTestId('arrival').textContent()).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const p = (await api.call('GET', '/v1/payments?orderNo=DEMO-1001')).body.data[0];
    expect(p).toMatchObject({ refundedAmount: 3_000, refundableAmount: 22_800 });
  });

  it('refunds by line items with quantity steppers, found by a barcode scan', async () => {
    const c = await terminal({ supervisor: '00' });
    await c.signIn(sys.base);
    await startRefund(c, 'expired_goods', 'DEMO-1001');
    expect(await c.page.getByTestId('refundable').textContent()).toBe('¥228.00');
    await c.tap('[data-mode="items"]');
    await c.tap(c.page.getByRole('button', { name: '增加 玻璃茶杯' }));
    expect(await c.page.getByTestId('qty-CUP-002').textContent()).toBe('1');
    expect(await c.page.getByTestId('items-total').textContent()).toBe('¥30.00');
    await c.tap(c.page.getByTestId('items-next'));
    await expect.poll(() => c.page.getByTestId('confirm').textContent()).toContain('玻璃茶杯 × 1');
    await c.tap(c.page.getByTestId('confirm-refund'));
    await c.approve(null, '123456');
    expect(await c.refundEnded()).toBe('succeeded');
    const id = (await c.page.getByTestId('refund-id').textContent()) ?? '';
    const refund = (await api.call('GET', `/v1/refunds/${id}`)).body;
    expect(refund).toMatchObject({ amount: 3_000, items: [{ sku: 'CUP-002', qty: 1, amountMinor: 3_000 }] });
  });

  it('refunds in full with the consumer contact, prints the voucher, and a reprint is marked 重打印', async () => {
    const c = await terminal({ supervisor: '00' });
    await c.signIn(sys.base);
    await startRefund(c, 'duplicate_payment', 'DEMO-1002');
    await c.tap('[data-mode="full"]');
    await c.tap(c.page.getByTestId('full-refund'));
    expect(await c.page.getByTestId('confirm-amount').textContent()).toBe('¥123.45');
    await c.page.locator('input[name="phone"]').fill('13800138000');
    await c.tap(c.page.getByTestId('confirm-refund'));
    await c.approve(null, '123456');
    expect(await c.refundEnded()).toBe('succeeded');
    expect(await c.page.getByTestId('net').textContent()).toBe('¥123.45');
    fullRefundId = (await c.page.getByTestId('refund-id').textContent()) ?? '';
    // The phone went with the refund and comes back masked; nothing claims a voucher was sent.
    await expect.poll(() => c.page.getByTestId('refund-result').textContent()).toMatch(/138\*+0{0,4}/);
    expect(await c.page.getByTestId('refund-result').textContent()).not.toContain('凭证已发送');

    await c.tap(c.page.getByTestId('print'));
    const voucher = c.page.frameLocator('[data-testid="receipt"]').locator('body');
    await expect.poll(() => voucher.textContent(), { timeout: 10_000 }).toContain('DEMO-1002');
    expect(await voucher.textContent()).not.toContain('重打印');
    await expect.poll(() => c.page.evaluate('window.__prints')).toBe(1);
  });

  it('sends the voucher to the consumer’s phone from the success page (发送凭证 → 已发送)', async () => {
    const sale = await pay(4_200);
    const c = await terminal({ supervisor: '00' });
    await c.signIn(sys.base);
    await startRefund(c, 'quality_issue', sale.orderNo);
    await c.tap('[data-mode="full"]');
    await c.tap(c.page.getByTestId('full-refund'));
    await c.tap(c.page.getByTestId('confirm-refund'));
    await c.approve(null, '123456');
    expect(await c.refundEnded()).toBe('succeeded');
    const refundId = (await c.page.getByTestId('refund-id').textContent()) ?? '';

    await c.tap(c.page.getByTestId('send-voucher'));
    await c.page.getByTestId('send-form').waitFor();
    await c.keypad('13912348765');
    await c.ok();
    const status = c.page.getByTestId('send-status');
    await status.locator('[data-status="sent"]').waitFor({ timeout: 10_000 });
    expect(await status.textContent()).toContain('139****8765');
    expect(await status.textContent()).toContain('已发送');
    expect(await status.textContent()).not.toContain('13912348765');

    const log = join(dataDir, 'sms.log');
    await expect.poll(() => existsSync(log)).toBe(true);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { to: string; text: string });
    const line = lines.find((l) => l.to === '13912348765' && l.text.includes(refundId));
    expect(line?.text).toContain('退款金额');
    expect(line?.text).toContain('¥42.00');
  });

  it('reprints a refund voucher by its number, marked 重打印 / REPRINT', async () => {
    expect(fullRefundId).toMatch(/^re_/);
    const c = await terminal();
    await c.signIn(sys.base);
    await c.tap(c.tile('reprint'));
    await c.page.locator('input[name="refundId"]').fill(fullRefundId);
    await c.press('Enter');
    const voucher = c.page.frameLocator('[data-testid="receipt"]').locator('body');
    await expect.poll(() => voucher.textContent(), { timeout: 10_000 }).toContain('重打印');
    expect(await voucher.textContent()).toContain('DEMO-1002');
    await c.press('Escape');
    await c.page.getByTestId('reprint-last').waitFor();
  });

  it('explains wrong supervisor passwords with the attempts left, then the lockout with the minutes left', async () => {
    const p = await pay(2_000);
    const c = await terminal();
    await c.signIn(sys.base);
    await startRefund(c, 'quality_issue', p.orderNo);
    // Over the refundable amount: refused on the spot, in words, with the fix.
    await c.keypad('999');
    await c.ok();
    await expect
      .poll(() => c.page.locator('.amount-pad').textContent())
      .toContain('超过可退金额 ¥20.00，请改为 ¥20.00 以内');
    await c.tap('.keypad [data-key="clear"]');
    await c.keypad('5');
    await c.ok();
    await c.tap(c.page.getByTestId('confirm-refund'));
    const alert = c.page.getByRole('alert');
    for (let left = 4; left >= 1; left--) {
      await c.approve(left === 4 ? '02' : null, '999999');
      await expect.poll(() => alert.textContent()).toContain(`还可尝试 ${left} 次`);
      expect(await alert.textContent()).toContain('主管工号或退款密码错误');
    }
    await c.approve(null, '999999');
    await expect.poll(() => alert.textContent()).toContain('主管因多次输错退款密码已被锁定');
    expect(await alert.textContent()).toContain('还需等待 15 分钟');
    // Even the right password waits for the lock to end, and says how long.
    await c.approve(null, '222222');
    await expect.poll(() => alert.textContent()).toMatch(/还需等待 1[45] 分钟/);
    expect((await api.call('GET', `/v1/payments/${p.id}`)).body.refundableAmount).toBe(2_000);
    // The lock lasts 15 minutes: move the service's clock past it for the tests after this one.
    offsetMs += 16 * 60_000;
    await c.approve(null, '222222');
    expect(await c.refundEnded()).toBe('succeeded');
    // Seven submissions of one confirmation (one Idempotency-Key): one refund.
    expect((await api.call('GET', `/v1/refunds?paymentId=${p.id}`)).body.data).toHaveLength(1);
  });

  it("lets an admin lift a supervisor's refund-password lock from the terminal (issue 9, defect 2)", async () => {
    const p = await pay(3_000);
    const refund = (password: string, key = `lock-${password}-${Math.random()}`) =>
      api.call(
        'POST',
        '/v1/refunds',
        {
          paymentId: p.id,
          amount: 500,
          reason: { code: 'quality_issue' },
          approvals: [{ operatorNo: '00', password }],
        },
        { 'idempotency-key': key },
      );
    for (let i = 0; i < 5; i++) await refund(`bad-${i}`);
    expect((await refund('123456')).status).toBe(423);

    // A cashier has no operators tile.
    const cashier = await terminal();
    await cashier.signIn(sys.base);
    expect(await cashier.tile('operators').count()).toBe(0);

    const admin = await terminal();
    await admin.signIn(sys.base, '99', '12345678');
    await admin.tap(admin.tile('operators'));
    const row = admin.page.locator('[data-operator="00"]');
    await expect.poll(() => row.getByTestId('lock-status').textContent()).toContain('授权锁定至');
    expect(await admin.page.locator('[data-operator="01"]').getByTestId('lock-status').textContent()).toBe(
      '正常',
    );
    await admin.tap(admin.page.getByTestId('unlock-00'));
    await admin.page.getByRole('status').getByText('已解除 00 的锁定').waitFor();
    await expect.poll(() => row.getByTestId('lock-status').textContent()).toBe('正常');
    expect(await admin.page.getByTestId('unlock-00').count()).toBe(0);

    const approved = await refund('123456');
    expect(approved.status, JSON.stringify(approved.body)).toBe(201);
    expect(approved.body.status).toBe('approved');
  });

  it('shows the network link going down and coming back (网络中断 / 网络正常)', async () => {
    const link = sys.inProcess;
    if (!link) throw new Error('this suite runs on the in-process network');
    link.down = true;
    try {
      const c = await terminal();
      await c.page.goto(`${sys.base}/terminal/`);
      await c.page.getByTestId('network').getByText('网络中断').waitFor();
    } finally {
      link.down = false;
    }
    const c = await terminal();
    await c.page.goto(`${sys.base}/terminal/`);
    await c.page.getByTestId('network').getByText('网络正常').waitFor();
  });

  it('needs two different supervisors for a large refund (DEMO-1004, ¥8,800)', async () => {
    const c = await terminal();
    await c.signIn(sys.base);
    await startRefund(c, 'quality_issue', 'DEMO-1004');
    await c.tap('[data-mode="full"]');
    await c.tap(c.page.getByTestId('full-refund'));
    await expect.poll(() => c.page.getByTestId('confirm').textContent()).toContain('两位不同主管');
    await c.tap(c.page.getByTestId('confirm-refund'));
    expect(await c.page.getByTestId('supervisor-n').textContent()).toBe('第 1 位主管（共 2 位）');
    await c.approve('00', '123456');
    expect(await c.page.getByTestId('supervisor-n').textContent()).toBe('第 2 位主管（共 2 位）');
    await c.approve('00', '123456');
    await expect
      .poll(() => c.page.getByTestId('supervisor-pad').textContent())
      .toContain('第二位主管必须是另一个人');
    await c.approve('02', '222222');
    expect(await c.refundEnded()).toBe('succeeded');
    const id = (await c.page.getByTestId('refund-id').textContent()) ?? '';
    const refund = (await api.call('GET', `/v1/refunds/${id}`)).body;
    expect(refund.amount).toBe(880_000);
    expect(refund.approvals.map((a: { operatorNo: string }) => a.operatorNo)).toEqual(['00', '02']);
  });

  it('takes a sale on the terminal and voids it with a supervisor', async () => {
    const c = await terminal({ supervisor: '00' });
    await c.signIn(sys.base);
    await c.tap(c.tile('sale'));
    await c.keypad('88');
    await c.ok();
    await c.page.getByTestId('sale-result').waitFor();
    const order = (await c.page.getByTestId('sale-order').textContent()) ?? '';
    expect(order).toMatch(/^POS\d+/);
    await c.home();
    await c.tap(c.tile('void'));
    await c.page.getByTestId('search').waitFor();
    await c.scan(order);
    await c.tap(c.page.getByTestId('void-do'));
    await c.approve(null, '123456');
    await c.page.getByTestId('void-result').waitFor();
    expect(await c.resultTitle()).toBe('已撤销');
    const p = (await api.call('GET', `/v1/payments?orderNo=${order}`)).body.data[0];
    expect(p.status).toBe('voided');
  });

  it('adjusts an order amount: a decrease refunds the difference, an increase charges it', async () => {
    // A QR order: its difference can be charged again; a card order's cannot (charge_needs_card).
    const p = await pay(10_000, { method: 'qr', card: undefined });
    const c = await terminal({ supervisor: '00' });
    await c.signIn(sys.base);
    await c.tap(c.tile('adjust'));
    await c.scan(p.orderNo);
    expect(await c.page.locator('input[name="originalAmount"]').inputValue()).toBe('100');
    await c.keypad('80');
    await expect.poll(() => c.page.locator('.amount-step').textContent()).toContain('退还顾客 ¥20.00');
    await c.ok();
    await c.tap(c.reason('transaction_error'));
    await c.approve(null, '123456');
    expect(await c.refundEnded()).toBe('succeeded');
    expect(await c.page.getByTestId('amount').textContent()).toBe('¥20.00');

    await c.home();
    await c.tap(c.tile('adjust'));
    await c.scan(p.orderNo);
    expect(await c.page.locator('input[name="originalAmount"]').inputValue()).toBe('80');
    await c.keypad('85');
    await c.ok();
    await c.tap(c.reason('transaction_error'));
    await c.approve(null, '123456');
    await c.page.getByTestId('adjust-result').waitFor();
    expect(await c.page.getByTestId('difference').textContent()).toBe('¥5.00');
    const order = (await api.call('GET', `/v1/orders/${p.orderNo}`)).body;
    expect(order.currentAmount).toBe(8_500);
  });

  it("shows a refund the network refuses as failed, with the network's cause and fix in words", async () => {
    const p = await pay(3_000);
    const c = await terminal({ supervisor: '00' });
    await c.signIn(sys.base);
    await c.tap(c.tile('refund'));
    await c.tap(c.reason('other'));
    await c.page.locator('input[name="note"]').fill('no');
    await c.press('Enter');
    await c.scan(p.orderNo);
    await c.keypad('10');
    await c.ok();
    await c.tap(c.page.getByTestId('confirm-refund'));
    await c.approve(null, '123456');
    expect(await c.refundEnded()).toBe('failed');
    expect(await c.resultTitle()).toBe('退款失败');
    const outcome = (await c.page.getByTestId('outcome').textContent()) ?? '';
    expect(outcome.length).toBeGreaterThan(10);
    expect(outcome).not.toMatch(/^\s*57\s*$/);
    expect((await api.call('GET', `/v1/payments/${p.id}`)).body.refundableAmount).toBe(3_000);
  });

  it('lists transactions with each payment’s refunds and their statuses', async () => {
    const c = await terminal();
    await c.signIn(sys.base);
    await c.tap(c.tile('transactions'));
    await c.tap('[data-testid="tx-list"] [data-order="DEMO-1001"]');
    const history = c.page.getByTestId('refund-history');
    await expect.poll(() => history.locator('li').count()).toBe(2);
    expect(await history.textContent()).toContain('退款成功');
    await c.press('Escape');
    await c.page.getByTestId('tx-list').waitFor();
  });

  it('settles the batch and shows the totals and the reconciliation', async () => {
    await until(
      async () => (await api.call('GET', '/v1/refunds?status=processing')).body.data.length,
      (n) => n === 0,
    );
    const c = await terminal();
    await c.signIn(sys.base);
    await c.tap(c.tile('settlement'));
    await c.tap(c.page.getByTestId('settle'));
    await c.page.getByTestId('settlement-result').waitFor();
    expect(await c.page.getByTestId('reconciliation').textContent()).toContain('对账平衡');
    expect(await c.page.locator('[data-bucket="refunds"] td').first().textContent()).toMatch(/^[1-9]\d*$/);
    expect(await c.page.locator('[data-bucket="voids"] td').first().textContent()).toBe('1');
  });

  it('switches 简体中文 → English → 繁體中文 and keeps the choice across a reload', async () => {
    const c = await terminal();
    await c.page.goto(`${sys.base}/terminal/`);
    const title = c.page.locator('.signin h2');
    expect(await title.textContent()).toBe('操作员签到');
    expect(await c.page.getAttribute('html', 'lang')).toBe('zh-CN');
    await c.tap('[data-lang="en"]');
    expect(await title.textContent()).toBe('Operator sign-in');
    await c.tap('[data-lang="zh-TW"]');
    expect(await title.textContent()).toBe('操作員簽到');
    await c.page.reload();
    expect(await c.page.locator('.signin h2').textContent()).toBe('操作員簽到');
    expect(await c.page.getAttribute('html', 'lang')).toBe('zh-TW');
    await c.page.goto(`${sys.base}/terminal/?lang=en`);
    expect(await c.page.locator('.signin h2').textContent()).toBe('Operator sign-in');
    await c.page.goto(`${sys.base}/terminal/`);
    expect(await c.page.locator('.signin h2').textContent()).toBe('Operator sign-in');
    // Signed in, every screen keeps the switch.
    await c.keypad('01');
    await c.ok();
    await c.keypad('1111');
    await c.ok();
    await c.tile('refund').waitFor();
    expect(await c.tile('refund').textContent()).toContain('Refund');
    await c.tap('[data-lang="zh-CN"]');
    expect(await c.tile('refund').textContent()).toContain('退货');
  });

  it('works from the keyboard alone: digits, Enter, Tab and Esc', async () => {
    const c = await terminal();
    await c.page.goto(`${sys.base}/terminal/`);
    await c.page.locator('input[name="operatorNo"]:focus').waitFor();
    await c.type('01');
    await c.press('Enter');
    await c.type('0000');
    await c.press('Enter');
    await expect.poll(() => c.page.getByRole('alert').textContent()).toContain('操作员号、密码不对');
    await c.type('1111');
    await c.press('Enter');
    await c.tile('refund').waitFor();
    await c.page.locator('[data-action="refund"]').focus();
    await c.press('Enter');
    await c.reason('quality_issue').waitFor();
    await c.press('Tab');
    expect(await c.page.evaluate("document.activeElement?.getAttribute('data-reason')")).toBe(
      'quality_issue',
    );
    await c.press('Enter');
    await c.page.getByTestId('search').waitFor();
    await c.press('Escape');
    await c.reason('quality_issue').waitFor();
    await c.press('Escape');
    await c.tile('refund').waitFor();
  });
});
