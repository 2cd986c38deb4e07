import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumAvailable, ensureWebBuilt, launchChromium, PHONE } from '../support/browser.js';
import {
  type Client,
  call,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
} from '../support/system.js';

/**
 * The consumer's pages of a QR-code scan return (扫码退货, issue 12) in Debian's Chromium, as a
 * phone (360 × 640, touch) in another time zone than the shop's, against the whole service on a
 * fresh SQLite store: the return page shows the goods, the total, the route and the policy; the
 * form checks its fields, submits once (a lost answer is fetched again with the same
 * Idempotency-Key) and moves to the status page, which follows the merchant's inspection and
 * approval to 已退款 without a reload; the voucher downloads; the language switches. Expired,
 * used, tampered and withdrawn return links and an invalid status link each get their own page
 * and change nothing.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}

const PAN = testPan('622202123456789');
const ITEMS = [
  { sku: 'TEA-01', name: '龙井茶 250g', qty: 2, unitAmount: 12_800 },
  { sku: 'CUP-02', name: '青瓷茶杯', qty: 1, unitAmount: 6_600 },
];
const SHOP_ZONE = 'Asia/Shanghai';
/** The phone is abroad: every time on the pages must still be the shop's. */
const PHONE_ZONE = 'America/Los_Angeles';

const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';
const shopTime = (iso: string) =>
  new Intl.DateTimeFormat('zh-CN', {
    timeZone: SHOP_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(Date.parse(iso));

describe.skipIf(!haveChromium)('consumer return and status pages on a phone in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let cashier: Client;
  let boss: Client;
  let offsetMs = 0;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await ensureWebBuilt('consumer');
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-consumer-'));
    sys = await startTestSystem(
      `sqlite:${join(dir, 'consumer.db')}`,
      // The page polls and the test calls the same API from the same address.
      { dataDir: join(dir, 'data'), consumerPerMinute: 10_000 },
      { clock: () => new Date(Date.now() + offsetMs) },
    );
    browser = await launchChromium();
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, '00', '123456');
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await sys?.close();
  });

  async function phone(): Promise<Page> {
    const context = await browser.newContext({
      ...PHONE,
      locale: 'zh-CN',
      timezoneId: PHONE_ZONE,
      acceptDownloads: true,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return page;
  }

  async function sale() {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('CSM'),
      amount: ITEMS.reduce((s, i) => s + i.qty * i.unitAmount, 0),
      currency: 'CNY',
      method: 'card',
      items: ITEMS,
      card: { pan: PAN, expiry: '3012' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  }

  async function returnQr(items = [{ sku: 'TEA-01', qty: 1 }]) {
    const p = await sale();
    const r = await cashier.call('POST', '/v1/returns', { orderNo: p.orderNo, items });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; url: string; expiresAt: string; orderNo: string };
  }

  const submitByApi = (token: string) =>
    call(
      sys.base,
      'POST',
      `/v1/consumer/returns/${token}/submit`,
      { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' } },
      { 'idempotency-key': `api-${Math.random()}` },
    );

  /** Everything a refused link could have changed. */
  async function footprint() {
    const db = sys.ctx.store.db;
    const count = async (table: 'refunds' | 'returns' | 'outbox' | 'audit_log') =>
      Number((await db.selectFrom(table).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const returns = await db.selectFrom('returns').select(['id', 'status']).orderBy('id').execute();
    return {
      refunds: await count('refunds'),
      returns: await count('returns'),
      outbox: await count('outbox'),
      audit: await count('audit_log'),
      statuses: returns.map((r) => `${r.id}:${r.status}`),
    };
  }

  const stage = (page: Page) => page.getByTestId('stage');
  /** The page polls every few seconds: give a change two or three rounds to show. */
  const POLL = { timeout: 15_000, interval: 100 };

  it('returns goods from a phone and follows the refund to 已退款 without a reload', async () => {
    const qr = await returnQr([
      { sku: 'TEA-01', qty: 2 },
      { sku: 'CUP-02', qty: 1 },
    ]);
    const shown = (await call(sys.base, 'GET', `/v1/consumer/returns/${tokenOf(qr.url)}`)).body;
    const page = await phone();
    const polls: number[] = [];
    page.on('response', (r) => {
      if (r.request().method() === 'GET' && /\/v1\/track\/[^/]+$/.test(new URL(r.url()).pathname))
        polls.push(r.status());
    });
    await page.goto(qr.url);

    // What the consumer checks: the shop, the goods, the total, where the money goes, the policy.
    await expect.poll(() => page.getByTestId('merchant').textContent(), POLL).toBe(shown.merchant.name);
    const tea = page.locator('[data-testid="item"][data-sku="TEA-01"]');
    expect(await tea.textContent()).toContain('龙井茶 250g');
    expect(await tea.textContent()).toContain('×2');
    expect(await tea.textContent()).toContain('¥256.00');
    expect(await page.locator('[data-testid="item"][data-sku="CUP-02"]').textContent()).toContain('¥66.00');
    expect(await page.getByTestId('total').textContent()).toBe('¥322.00');
    expect(await page.getByTestId('route').textContent()).toContain(PAN.slice(-4));
    expect(await page.getByTestId('policy').textContent()).toBe(shown.policyText);
    // The QR's expiry in the shop's time, not the phone's.
    expect(await page.getByTestId('expires').textContent()).toContain(shopTime(qr.expiresAt));
    // One column that fits the phone: nothing scrolls sideways.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);

    // Nothing is sent until the form is right: a reason, a note for "other", a valid contact.
    const submit = page.getByTestId('submit');
    await submit.tap();
    expect(await page.getByTestId('field-error').allTextContents()).toEqual([
      '请选择退货原因。',
      '请至少填写手机号或邮箱中的一项。',
    ]);
    await page.getByTestId('reason-other').tap();
    await page.getByTestId('contact-email').fill('buyer@');
    await submit.tap();
    expect(await page.getByTestId('field-error').allTextContents()).toEqual([
      '选择“其它”时请填写具体原因。',
      '邮箱格式不对。',
    ]);
    await page.getByTestId('contact-email').fill('');
    await page.getByTestId('contact-phone').fill('12');
    expect(await page.getByTestId('field-error').allTextContents()).toContain('手机号格式不对。');
    expect((await boss.call('GET', `/v1/returns/${qr.id}`)).body.status).toBe('open');

    await page.getByTestId('reason-quality_issue').tap();
    await page.getByTestId('contact-phone').fill('138 0013-8000');
    await submit.tap();

    // The status page, in place of the used link.
    await page.waitForURL(/\/t\/[A-Za-z0-9_-]{32}$/);
    await expect.poll(() => stage(page).getAttribute('data-stage'), POLL).toBe('submitted');
    expect(await stage(page).textContent()).toBe('已提交');
    // A mark in this document: gone if the page reloads.
    await page.evaluate('window.sameDocument = true');
    const ret = (await boss.call('GET', `/v1/returns/${qr.id}`)).body;
    expect(ret.status).toBe('submitted');
    const refundId = ret.refundId as string;
    const refund = (await boss.call('GET', `/v1/refunds/${refundId}`)).body;
    expect(refund).toMatchObject({ status: 'requested', amount: 32_200, reason: { code: 'quality_issue' } });
    expect(await page.getByTestId('refund-no').textContent()).toBe(refundId);

    // Nothing changed yet: the page asks with If-None-Match and the answer is a bodiless 304.
    await expect.poll(() => polls.includes(304), POLL).toBe(true);
    expect(await stage(page).getAttribute('data-stage')).toBe('submitted');

    // The merchant inspects the goods: 商家审核, on the same page.
    const inspected = await boss.call('POST', `/v1/returns/${qr.id}/inspection`, { result: 'accepted' });
    expect(inspected.status, JSON.stringify(inspected.body)).toBe(200);
    await expect.poll(() => stage(page).getAttribute('data-stage'), POLL).toBe('reviewing');
    expect(await stage(page).textContent()).toBe('商家审核');

    // …and approves: the refund goes through the network and the page reaches 已退款.
    const approved = await boss.call('POST', `/v1/refunds/${refundId}/approve`, {
      approvals: [supervisor],
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'intact' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await expect.poll(() => stage(page).getAttribute('data-stage'), POLL).toBe('refunded');
    expect(await stage(page).textContent()).toBe('已退款');
    const done = (await boss.call('GET', `/v1/refunds/${refundId}`)).body;
    expect(done.status).toBe('succeeded');
    expect(done.network.reference).toEqual(expect.any(String));
    expect(await page.getByTestId('network-ref').textContent()).toBe(done.network.reference);
    expect(await page.getByTestId('refund-no').textContent()).toBe(refundId);
    expect(await page.getByTestId('expected-arrival').textContent()).toBe(done.expectedArrival);
    expect(await page.locator('[data-testid="stepper"] [data-state="done"]').count()).toBe(4);
    expect(await page.locator('[data-testid="history"] li').count()).toBe(4);
    // Never reloaded; and once refunded, it stops asking.
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    const asked = polls.length;
    await page.waitForTimeout(3_500);
    expect(polls.length).toBe(asked);

    // The voucher downloads.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('voucher-link').tap(),
    ]);
    expect(download.suggestedFilename()).toBe(`refund-${refundId}.html`);
    const path = await download.path();
    expect(readFileSync(path, 'utf8')).toContain(refundId);

    // English, remembered for the voucher too.
    await page.getByTestId('lang').selectOption('en');
    expect(await stage(page).textContent()).toBe('Refunded');
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    expect(await page.getByTestId('voucher-link').getAttribute('href')).toContain('lang=en');
    expect(await page.getByTestId('route').textContent()).toContain(`card ending ${PAN.slice(-4)}`);
  }, 60_000);

  it('fetches a lost answer again with the same Idempotency-Key: one return, one refund', async () => {
    const qr = await returnQr();
    const page = await phone();
    const keys: string[] = [];
    let lose = true;
    await page.route('**/v1/consumer/returns/*/submit', async (route) => {
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      // The first answer is lost on the way back (the server did the work).
      const answer = await route.fetch();
      if (lose) {
        lose = false;
        return route.abort('connectionreset');
      }
      return route.fulfill({ response: answer });
    });
    await page.goto(`${qr.url}?lang=zh-TW`);
    await page.getByTestId('reason-expired_goods').tap();
    await page.getByTestId('contact-email').fill('buyer@example.com');
    await page.getByTestId('submit').tap();
    await page.getByTestId('submit-error').waitFor();
    expect(await page.getByTestId('submit-error').textContent()).toContain('網路連線失敗');
    await page.getByTestId('submit').tap();
    await page.waitForURL(/\/t\//);
    await expect.poll(() => stage(page).textContent(), POLL).toBe('已提交');
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    const refunds = await sys.ctx.store.db
      .selectFrom('refunds')
      .select('id')
      .where('order_no', '=', qr.orderNo)
      .execute();
    expect(refunds).toHaveLength(1);
  }, 30_000);

  it('explains a used, tampered, withdrawn and expired return link and a bad status link, changing nothing', async () => {
    const used = await returnQr();
    expect((await submitByApi(tokenOf(used.url))).status).toBe(201);
    const open = await returnQr();
    const [ulidPart = '', merchant = '', exp = '', kid = '', mac = ''] = tokenOf(open.url).split('.');
    const tampered = `${ulidPart}.${merchant}.${exp}.${kid}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const withdrawn = await returnQr();
    expect((await cashier.call('POST', `/v1/returns/${withdrawn.id}/cancel`)).status).toBe(200);

    const page = await phone();
    const expectProblem = async (path: string, code: string, title: string) => {
      await page.goto(`${sys.base}${path}`);
      const problem = page.getByTestId('problem');
      await problem.waitFor();
      expect(await problem.getAttribute('data-code')).toBe(code);
      expect(await problem.locator('h2').textContent()).toBe(title);
      expect(await page.getByTestId('submit').count()).toBe(0);
    };

    const before = await footprint();
    await expectProblem(`/r/${tokenOf(used.url)}`, 'return_link_used', '这个退货已经提交过了');
    await expectProblem(`/r/${tampered}`, 'return_link_invalid', '这个退货链接无效');
    await expectProblem('/r/garbage', 'return_link_invalid', '这个退货链接无效');
    await expectProblem(`/r/${tokenOf(withdrawn.url)}`, 'return_canceled', '商家已撤回这个退货');
    await expectProblem(`/t/${'A'.repeat(32)}`, 'tracking_link_invalid', '这个查询链接无效');
    await expectProblem('/t/not-a-status-link', 'tracking_link_invalid', '这个查询链接无效');
    offsetMs += 31 * 60_000;
    try {
      await expectProblem(`/r/${tokenOf(open.url)}`, 'return_link_expired', '这个退货二维码已过期');
      // In the consumer's language.
      await page.getByTestId('lang').selectOption('en');
      expect(await page.getByTestId('problem').locator('h2').textContent()).toBe(
        'This return QR code has expired',
      );
    } finally {
      offsetMs -= 31 * 60_000;
    }
    expect(await footprint()).toEqual(before);
    // The untouched link still works once the clock is back.
    await page.goto(open.url);
    await page.getByTestId('submit').waitFor();
  }, 30_000);
});
