/**
 * `npm run screenshots`: start the whole service on a fresh SQLite store with the demo data, drive
 * the terminal in Debian's Chromium at 1280 × 800 (a 10-inch landscape POS) and the back office at
 * 1440 × 900, and write PNGs of their main screens to docs/screenshots/. Chinese glyphs need a CJK
 * font (Debian: fonts-noto-cjk).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cashier } from '../test/e2e/driver.js';
import { chromiumAvailable, ensureWebBuilt, launchChromium, PHONE } from '../test/support/browser.js';
import { call, DEMO, signIn, startTestSystem, supervisor, testPan, until } from '../test/support/system.js';

const out = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

async function main(): Promise<void> {
  if (!chromiumAvailable()) throw new Error('Chromium is missing: apt-get install chromium fonts-noto-cjk');
  mkdirSync(out, { recursive: true });
  await ensureWebBuilt('terminal');
  await ensureWebBuilt('office');
  await ensureWebBuilt('consumer');
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

    // 扫码退货: the terminal's lines and its QR; the consumer's phone, its return and status pages.
    await c.home();
    await c.tap(c.tile('returns'));
    await c.scan('DEMO-1001');
    await page.getByTestId('return-lines').waitFor();
    await c.tap(page.getByTestId('qty-inc-TEA-001'));
    await c.tap(page.getByTestId('qty-inc-CUP-002'));
    await shot('return-lines');
    const [created] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/returns') && r.request().method() === 'POST'),
      c.tap(page.getByTestId('return-create')),
    ]);
    const qr = (await created.json()) as { id: string; url: string };
    await page.getByTestId('return-qr').waitFor();
    await shot('return-qr');
    await phoneShots(browser, sys, qr);
    await page.getByTestId('return-submitted').waitFor();

    await c.home();
    await c.tap('[data-lang="en"]');
    await shot('home-en');
    await c.tap('[data-lang="zh-CN"]');

    await officeShots(browser);
  } finally {
    await browser.close();
    await sys.close();
  }
}

/**
 * The consumer's phone (360 × 640 at 2×): the return page of `qr`, then its status page, submitted
 * and, once the supervisor has inspected the goods and approved, refunded.
 */
async function phoneShots(
  browser: Awaited<ReturnType<typeof launchChromium>>,
  sys: Awaited<ReturnType<typeof startTestSystem>>,
  qr: { id: string; url: string },
): Promise<void> {
  const context = await browser.newContext({
    ...PHONE,
    locale: 'zh-CN',
  });
  const phone = await context.newPage();
  const shot = async (name: string, fullPage = false) => {
    await phone.waitForTimeout(300);
    await phone.screenshot({ path: join(out, `${name}.png`), fullPage });
    process.stdout.write(`  docs/screenshots/${name}.png\n`);
  };
  try {
    await phone.goto(qr.url);
    await phone.getByTestId('total').waitFor();
    await shot('consumer-return');
    await phone.getByTestId('reason-quality_issue').tap();
    await phone.getByTestId('contact-phone').fill('13800138000');
    await phone.getByTestId('submit').scrollIntoViewIfNeeded();
    await shot('consumer-return-form');
    await phone.getByTestId('submit').tap();
    await phone.locator('[data-testid="stage"][data-stage="submitted"]').waitFor();
    await shot('consumer-status');
    const boss = await signIn(sys.base, '00', '123456');
    const ret = (await boss.call('GET', `/v1/returns/${qr.id}`)).body as { refundId: string };
    await boss.call('POST', `/v1/returns/${qr.id}/inspection`, { result: 'accepted', note: '包装完好' });
    await boss.call('POST', `/v1/refunds/${ret.refundId}/approve`, {
      approvals: [supervisor],
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'intact' },
    });
    await phone.locator('[data-testid="stage"][data-stage="refunded"]').waitFor({ timeout: 30_000 });
    await shot('consumer-status-refunded', true);
  } finally {
    await context.close();
  }
}

const DAY_MS = 86_400_000;

/**
 * The back office: dashboard, review queue with a refund open, and an order's timeline. A system
 * of its own with the bundled simulator (so the timeline has the ISO 8583 messages) and two weeks
 * of sales and refunds made with the clock moved back, so the charts have days to show.
 */
async function officeShots(browser: Awaited<ReturnType<typeof launchChromium>>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'refund-desk-office-shots-'));
  let offset = 0;
  const sys = await startTestSystem(
    `sqlite:${join(dir, 'office.db')}`,
    { network: 'sim', dataDir: join(dir, 'data'), networkDelayMs: 20 },
    { clock: () => new Date(Date.now() + offset) },
  );
  try {
    const cashier = await signIn(sys.base, '01', '1111');
    const second = await signIn(sys.base, '02', '222222');
    const pan = testPan('622202100006666');
    const reasons = ['quality_issue', 'expired_goods', 'service_not_provided', 'duplicate_payment'] as const;
    let n = 0;
    const sale = async (amount: number, method: 'card' | 'qr' = 'card') =>
      (
        await cashier.call('POST', '/v1/payments', {
          orderNo: `SHOT-${2001 + n++}`,
          amount,
          currency: 'CNY',
          method,
          ...(method === 'card' ? { card: { pan, expiry: '2912' } } : {}),
        })
      ).body as { id: string; orderNo: string };
    const settle = (id: string) =>
      until(
        async () => (await cashier.call('GET', `/v1/refunds/${id}`)).body,
        (r) => r.status !== 'approved' && r.status !== 'processing',
      );
    for (let day = 13; day >= 1; day--) {
      offset = -day * DAY_MS;
      for (let i = 0; i < 2 + (day % 3); i++) {
        const p = await sale(6_800 + ((day * 7 + i * 13) % 20) * 450, i % 3 === 2 ? 'qr' : 'card');
        if ((day + i) % 2 === 0) {
          const who = i % 2 === 0 ? cashier : second;
          const r = await who.call('POST', '/v1/refunds', {
            paymentId: p.id,
            amount: 800 + ((day * 5 + i) % 9) * 350,
            reason: { code: reasons[(day + i) % reasons.length] },
            approvals: [supervisor],
          });
          await settle(r.body.id);
        }
      }
    }
    offset = 0;
    // Today: an order with a refund at the network, a voucher sent and an amount lowered.
    const shown = await sale(12_800);
    const refund = await cashier.call('POST', '/v1/refunds', {
      paymentId: shown.id,
      amount: 2_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    await settle(refund.body.id);
    await cashier.call('POST', `/v1/refunds/${refund.body.id}/receipt/send`, { phone: '13800138000' });
    await cashier.call('POST', `/v1/orders/${shown.orderNo}/adjustments`, {
      originalAmount: 12_800,
      newAmount: 12_000,
      reason: { code: 'transaction_error' },
      approvals: [supervisor],
    });
    // And the review queue: refunds asked for without approval (申请).
    let queued = '';
    for (let i = 0; i < 4; i++) {
      const p = await sale(9_900 + i * 1_100);
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: p.id,
        amount: 1_500 + i * 600,
        reason: { code: reasons[i % reasons.length] },
      });
      queued ||= r.body.id;
    }

    // And a QR return the consumer has submitted, its goods waiting for inspection.
    const goods = (
      await cashier.call('POST', '/v1/payments', {
        orderNo: `SHOT-${2001 + n++}`,
        amount: 32_200,
        currency: 'CNY',
        method: 'card',
        card: { pan, expiry: '2912' },
        items: [
          { sku: 'TEA-01', name: '龙井茶 250g', qty: 2, unitAmount: 12_800 },
          { sku: 'CUP-02', name: '青瓷茶杯', qty: 1, unitAmount: 6_600 },
        ],
      })
    ).body as { orderNo: string };
    const returned = await cashier.call('POST', '/v1/returns', {
      orderNo: goods.orderNo,
      items: [{ sku: 'TEA-01', qty: 1 }],
    });
    await call(
      sys.base,
      'POST',
      `/v1/consumer/returns/${new URL(returned.body.url).pathname.split('/').pop()}/submit`,
      { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' } },
      { 'idempotency-key': `shot-${Date.now()}` },
    );
    await cashier.call('POST', '/v1/returns', { orderNo: goods.orderNo, items: [{ sku: 'CUP-02', qty: 1 }] });

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const shot = async (name: string) => {
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(out, `${name}.png`) });
      process.stdout.write(`  docs/screenshots/${name}.png\n`);
    };
    await page.goto(`${sys.base}/office/`);
    await page.locator('input[name="merchantId"]').fill(DEMO.merchantId);
    await page.locator('input[name="operatorNo"]').fill('00');
    await page.locator('input[name="password"]').fill('123456');
    await shot('office-sign-in');
    await page.getByTestId('sign-in').click();
    await page.locator('.chart[data-ready="true"] svg').first().waitFor();
    await page.waitForTimeout(500);
    await shot('office-dashboard');
    await page.locator('[data-nav="queue"]').click();
    await page.locator(`[data-refund="${queued}"]`).click();
    await page.getByTestId('review-panel').waitFor();
    await shot('office-review-queue');
    await page.locator('[data-nav="returns"]').click();
    await page.locator(`[data-testid="return-row"][data-return="${returned.body.id}"]`).waitFor();
    await shot('office-returns');
    await page
      .locator(`[data-testid="return-row"][data-return="${returned.body.id}"]`)
      .getByTestId('inspect')
      .click();
    await page.getByTestId('inspection-dialog').waitFor();
    await page.getByTestId('inspection-accept').check();
    await page.getByTestId('inspection-note').fill('茶叶未开封，包装完好');
    await shot('office-inspection');
    await page.goto(`${sys.base}/office/orders/${shown.orderNo}`);
    await page.locator('[data-kind="network"]').first().waitFor();
    await shot('office-order-timeline');
    await page.close();
  } finally {
    await sys.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
