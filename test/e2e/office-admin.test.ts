import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEntries } from '../../src/store/audit.js';
import { CHROMIUM, chromiumAvailable, ensureWebBuilt, launchChromium } from '../support/browser.js';
import { call, DEMO, startTestSystem, type TestSystem, signIn as terminalSignIn } from '../support/system.js';
import { Cashier } from './driver.js';

/**
 * The back office's admin pages (issue 11) — people, policy, audit, settlement — driven through
 * the real pages in Debian's Chromium against the whole service on a fresh SQLite store. Every
 * test signs in through the office's own sign-in page.
 */
const haveChromium = chromiumAvailable();
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is missing at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}
if (!haveChromium) {
  process.stderr.write(`note: ${CHROMIUM} not found; the office admin browser tests are skipped\n`);
}

/** RFC 4180: CRLF between records, fields with `,` `"` or line breaks quoted, quotes doubled. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}

const ADMIN = { operatorNo: '99', password: '12345678' };
const SUPERVISOR = { operatorNo: '00', password: '123456' };

describe.skipIf(!haveChromium)('back office admin pages in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await ensureWebBuilt('office');
    await ensureWebBuilt('terminal');
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-office-admin-'));
    sys = await startTestSystem(`sqlite:${join(dir, 'office.db')}`, { dataDir: join(dir, 'data') });
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await sys?.close();
  });

  async function newPage(viewport = { width: 1440, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return page;
  }

  /** Signs in through the office's sign-in page (simplified Chinese, the default). */
  async function office(who: { operatorNo: string; password: string }): Promise<Page> {
    const page = await newPage();
    await page.goto(`${sys.base}/office/`);
    await page.locator('input[name="merchantId"]').fill(DEMO.merchantId);
    await page.locator('input[name="operatorNo"]').fill(who.operatorNo);
    await page.locator('input[name="password"]').fill(who.password);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').waitFor();
    return page;
  }

  const officeSignIn = (operatorNo: string, password: string) =>
    call(sys.base, 'POST', '/v1/sessions', { merchantId: DEMO.merchantId, operatorNo, password });

  async function openPage(page: Page, name: string) {
    await page.locator(`[data-nav="${name}"]`).click();
    await page.waitForURL(`**/office/${name}`);
  }

  it('unlocks a locked supervisor from People, after which the supervisor signs in', async () => {
    // Wrong passwords until the lock: anyone can send them.
    let locked = false;
    for (let i = 0; i < 10 && !locked; i++) {
      const r = await officeSignIn(SUPERVISOR.operatorNo, `wrong-${i}`);
      locked = r.status === 423;
    }
    expect(locked).toBe(true);
    const refused = await officeSignIn(SUPERVISOR.operatorNo, SUPERVISOR.password);
    expect(refused.status).toBe(423);
    expect(refused.body.code).toBe('operator_locked');

    const admin = await office(ADMIN);
    await openPage(admin, 'people');
    const row = admin.locator('[data-operator="00"]');
    await row.getByTestId('sign-in-locked').waitFor();
    await row.getByTestId('unlock').click();
    await admin.getByTestId('people-notice').getByText('已解除操作员 00 的锁定').waitFor();
    await expect.poll(() => row.getByTestId('sign-in-locked').count()).toBe(0);
    await expect.poll(() => row.getByTestId('unlock').count()).toBe(0);

    const supervisor = await office(SUPERVISOR);
    expect(await supervisor.getByTestId('who').textContent()).toContain('主管');
    // A supervisor has no People page, and sees the policy read-only.
    expect(await supervisor.locator('[data-nav="people"]').count()).toBe(0);
    await openPage(supervisor, 'policy');
    await supervisor.getByText('只有管理员可以修改退款规则').waitFor();
    expect(await supervisor.getByTestId('policy-preview').count()).toBe(0);
    expect(await supervisor.locator('input[name="maxRefundAmount"]').isDisabled()).toBe(true);
  });

  it('adds an operator, disables it (its sign-in is refused), enables it, resets its password, demotes it and promotes it with a new password', async () => {
    const admin = await office(ADMIN);
    await openPage(admin, 'people');
    await admin.getByTestId('operator-add').click();
    const form = admin.getByTestId('operator-new');
    await form.locator('input[name="newOperatorNo"]').fill('55');
    await form.locator('input[name="newName"]').fill('周主管');
    await form.locator('select[name="newRole"]').selectOption('supervisor');
    await form.locator('input[name="newPassword"]').fill('first-55');
    await form.locator('input[name="confirmPassword"]').fill('first-56');
    await form.getByTestId('operator-create').click();
    await form.getByTestId('password-problem').getByText('两次输入的密码不一致').waitFor();
    await form.locator('input[name="confirmPassword"]').fill('first-55');
    await form.getByTestId('operator-create').click();
    await admin.getByTestId('people-notice').getByText('已添加操作员 55').waitFor();
    const row = admin.locator('[data-operator="55"]');
    await row.getByText('周主管').waitFor();
    expect((await officeSignIn('55', 'first-55')).status).toBe(201);

    // The same number again is refused in words.
    await admin.getByTestId('operator-add').click();
    await form.locator('input[name="newOperatorNo"]').fill('55');
    await form.locator('input[name="newName"]').fill('重复');
    await form.locator('input[name="newPassword"]').fill('whatever1');
    await form.locator('input[name="confirmPassword"]').fill('whatever1');
    await form.getByTestId('operator-create').click();
    await form.getByText('该操作员号已存在').waitFor();

    await row.click();
    const panel = admin.getByTestId('operator-panel');
    await panel.getByTestId('operator-disable').click();
    const confirm = admin.getByTestId('confirm');
    await confirm.getByText('停用操作员 55').waitFor();
    await confirm.getByTestId('confirm-yes').click();
    await row.getByText('已停用').waitFor();
    expect((await officeSignIn('55', 'first-55')).status).toBe(401);

    await panel.getByTestId('operator-enable').click();
    await row.getByText('启用').waitFor();

    // Too short for a supervisor: the server's rule, in words with the length.
    const reset = panel.getByTestId('password-reset');
    await reset.locator('input[name="newPassword"]').fill('123');
    await reset.locator('input[name="confirmPassword"]').fill('123');
    await reset.getByTestId('reset-password').click();
    await reset.getByText('密码太短').waitFor();
    await reset.getByText('至少需要 6 个字符').waitFor();
    await reset.locator('input[name="newPassword"]').fill('second-55');
    await reset.locator('input[name="confirmPassword"]').fill('second-55');
    await reset.getByTestId('reset-password').click();
    await admin.getByTestId('people-notice').getByText('已重置操作员 55 的密码').waitFor();
    expect((await officeSignIn('55', 'first-55')).status).toBe(401);
    expect((await officeSignIn('55', 'second-55')).status).toBe(201);

    // Demoting asks first.
    await panel.locator('select[name="role"]').selectOption('cashier');
    await panel.getByTestId('operator-save').click();
    await admin.getByTestId('confirm').getByText('从「主管」改为「收银员」').waitFor();
    await admin.getByTestId('confirm-yes').click();
    await row.getByText('收银员').waitFor();
    expect((await officeSignIn('55', 'second-55')).body.code).toBe('office_not_allowed');

    // Promoting the cashier again takes a new password, typed twice and long enough for the role:
    // their old one was measured for a cashier and would become a refund password.
    const profile = panel.getByTestId('operator-profile');
    await panel.locator('select[name="role"]').selectOption('supervisor');
    await profile.getByTestId('promote-hint').getByText('需要同时设置新密码').waitFor();
    await panel.getByTestId('operator-save').click();
    await profile.getByTestId('password-problem').getByText('请输入新密码').waitFor();
    await profile.locator('input[name="newPassword"]').fill('1234');
    await profile.locator('input[name="confirmPassword"]').fill('1234');
    await panel.getByTestId('operator-save').click();
    await panel.getByText('密码太短').waitFor();
    await panel.getByText('至少需要 6 个字符').waitFor();
    const roleCell = row.locator('td').nth(2);
    expect(await roleCell.textContent()).toBe('收银员');
    await profile.locator('input[name="newPassword"]').fill('third-55');
    await profile.locator('input[name="confirmPassword"]').fill('third-55');
    await panel.getByTestId('operator-save').click();
    await expect.poll(() => roleCell.textContent()).toBe('主管');
    await expect.poll(() => profile.getByTestId('promote-hint').count()).toBe(0);
    expect((await officeSignIn('55', 'second-55')).status).toBe(401);
    expect((await officeSignIn('55', 'third-55')).status).toBe(201);

    // The operators as CSV: Chinese intact, role and state in words, no password.
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByTestId('export-csv').click(),
    ]);
    expect(download.suggestedFilename()).toBe('operators.csv');
    const bytes = readFileSync((await download.path()) as string);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    const [header, ...operators] = parseCsv(text);
    expect(header).toEqual(['操作员号', '姓名', '角色', '状态', '停用时间', '签到锁定至', '退款密码锁定至']);
    expect(operators.find((o) => o[0] === '="55"')?.slice(0, 4)).toEqual(['="55"', '周主管', '主管', '启用']);
    for (const secret of ['third-55', 'second-55', 'argon2']) expect(text).not.toContain(secret);
  });

  it('creates an API key shown once, which works until it is revoked', async () => {
    const admin = await office(ADMIN);
    await openPage(admin, 'people');
    const form = admin.getByTestId('api-key-new');
    await form.locator('input[name="keyName"]').fill('网上商城');
    await form.getByTestId('api-key-create').click();
    const dialog = admin.getByTestId('api-key-dialog');
    await dialog.getByText('关闭后无法再次查看').waitFor();
    const secret = await dialog.getByTestId('api-key-secret').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    const withKey = () =>
      call(sys.base, 'GET', '/v1/policy', undefined, { authorization: `Bearer ${secret}` });
    expect((await withKey()).status).toBe(200);
    await dialog.getByTestId('key-saved').click();
    await expect.poll(() => admin.getByTestId('api-key-dialog').isVisible()).toBe(false);
    // The list never shows the secret.
    expect(await admin.getByTestId('api-keys').textContent()).not.toContain(secret);

    const keyRow = admin.getByTestId('api-keys').locator('tr', { hasText: '网上商城' });
    await keyRow.getByTestId('revoke-key').click();
    await admin.getByTestId('confirm').getByTestId('confirm-yes').click();
    await keyRow.getByText('已吊销').waitFor();
    expect((await withKey()).status).toBe(401);
  });

  it('changes the policy with a preview, and the terminal sees the change at once', async () => {
    const admin = await office(ADMIN);
    await openPage(admin, 'policy');
    await admin.locator('input[name="maxRefundAmount"]').fill('100');
    await admin.locator('input[name="reasons.expired_goods"]').uncheck();
    await admin.locator('input[name="lockout.minutes"]').fill('0');
    await admin.getByTestId('policy-preview').click();
    // Checked in the page first, with the field's own limits.
    await admin.locator('[data-field-error="lockout.minutes"]').getByText('1–1440').waitFor();
    expect(await admin.getByTestId('policy-diff').count()).toBe(0);
    await admin.locator('input[name="lockout.minutes"]').fill('15');
    // A risk rule switched on, at a value of the merchant's choosing.
    await admin.locator('input[name="riskRules.operatorRefundsPerHour.on"]').check();
    await admin.locator('input[name="riskRules.operatorRefundsPerHour"]').fill('5');
    await admin.getByTestId('policy-preview').click();

    const diff = admin.getByTestId('policy-diff');
    await diff.waitFor();
    expect(await diff.locator('tr').count()).toBe(3);
    const cap = diff.locator('[data-change="maxRefundAmount"]');
    expect(await cap.locator('.from').textContent()).toBe('¥50,000.00');
    expect(await cap.locator('.to').textContent()).toBe('¥100.00');
    expect(await diff.locator('[data-change="reasons"] .from').textContent()).toContain('商品已过期');
    expect(await diff.locator('[data-change="reasons"] .to').textContent()).not.toContain('商品已过期');
    const risk = diff.locator('[data-change="riskRules.operatorRefundsPerHour"]');
    expect(await risk.locator('.from').textContent()).toBe('关闭');
    expect(await risk.locator('.to').textContent()).toBe('每小时超过 5 笔');
    await admin.getByTestId('policy-save').click();
    await admin.getByTestId('policy-saved').waitFor();

    // The terminal's session reads the new policy…
    const till = await terminalSignIn(sys.base, '01', '1111');
    const policy = (await till.call('GET', '/v1/policy')).body;
    expect(policy.maxRefundAmount).toBe(10_000);
    expect(policy.reasons).not.toContain('expired_goods');
    expect(policy.riskRules).toEqual({
      operatorRefundsPerHour: 5,
      cardRefundsPerDay: null,
      shareOfDaySalesPercent: null,
    });
    const c = new Cashier(await newPage({ width: 1280, height: 800 }));
    await c.signIn(sys.base);
    await c.tap(c.tile('refund'));
    await c.reason('quality_issue').waitFor();
    // …and so does the terminal page: the reason no longer in use cannot be picked.
    await expect.poll(() => c.reason('expired_goods').isDisabled()).toBe(true);
    expect(await c.reason('quality_issue').isDisabled()).toBe(false);
    // A refund over the new cap is refused with it.
    const sale = await till.call('POST', '/v1/payments', {
      orderNo: `CAP-${Date.now()}`,
      amount: 20_000,
      currency: 'CNY',
      method: 'cash',
    });
    const over = await till.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      amount: 15_000,
      reason: { code: 'quality_issue' },
      approvals: [{ operatorNo: '02', password: '222222' }],
    });
    expect(over.body.code).toBe('refund_exceeds_limit');

    // The audit entry, from the link on the policy page; the chain verifies.
    await admin.getByTestId('policy-audit-link').click();
    await admin.waitForURL('**/office/audit?action=policy.changed');
    const banner = admin.getByTestId('audit-verify');
    await banner.waitFor();
    expect(await banner.getAttribute('data-ok')).toBe('true');
    expect(await banner.textContent()).toContain('审计链完整');
    const entry = admin.locator('[data-action="policy.changed"]').first();
    await entry.getByTestId('audit-policy-changes').getByText('¥100.00').waitFor();
    expect(await entry.textContent()).toContain('操作员 99');
    expect(await admin.locator('[data-audit-seq]:not([data-action="policy.changed"])').count()).toBe(0);
  });

  it('exports the audit log as CSV that decodes back (BOM, header, the policy change)', async () => {
    const admin = await office(ADMIN);
    await admin.goto(`${sys.base}/office/audit?action=policy.changed`);
    await admin.getByTestId('audit-verify').waitFor();
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByTestId('export-csv').click(),
    ]);
    expect(download.suggestedFilename()).toBe('audit.csv');
    const bytes = readFileSync((await download.path()) as string);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [header, ...rows] = parseCsv(bytes.subarray(3).toString('utf8'));
    expect(header).toEqual(['序号', '时间', '操作人', '操作', '对象类型', '对象编号', '详情(JSON)', '哈希']);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    // The page's filter went with the export: only policy changes.
    for (const r of rows) expect(r[3]).toBe('policy.changed');
    const change = rows.find((r) => r[2] === 'op:99');
    expect(change, JSON.stringify(rows)).toBeDefined();
    expect(change?.[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const data = JSON.parse(change?.[6] ?? '{}');
    expect(data.after.maxRefundAmount).toBe(10_000);
    expect(data.before.maxRefundAmount).toBe(5_000_000);
  });

  it('reads the audit log from the server 50 entries at a time, filtered there', async () => {
    await sys.ctx.store.tx((trx) =>
      appendAuditEntries(
        trx,
        Array.from({ length: 60 }, (_, i) => ({
          merchantId: DEMO.merchantId,
          actor: 'op:99',
          action: 'test.paging',
          entity: i % 2 === 0 ? 'merchant' : 'terminal',
          entityId: i % 2 === 0 ? DEMO.merchantId : DEMO.terminalId,
          data: { i },
          at: new Date(),
        })),
      ),
    );
    const admin = await office(ADMIN);
    await admin.goto(`${sys.base}/office/audit?action=test.paging`);
    const rows = admin.locator('[data-testid="audit"] [data-audit-seq]');
    await expect.poll(() => rows.count()).toBe(50);
    await admin.getByTestId('load-more').click();
    await expect.poll(() => rows.count()).toBe(60);
    expect(await admin.getByTestId('load-more').count()).toBe(0);
    expect(await admin.getByTestId('audit-count').textContent()).toContain('共 60 条');
    // Newest first: the seq numbers fall down the page, across the two pages.
    const seqs = (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-audit-seq')))).map(
      Number,
    );
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

    await admin.locator('select[name="entity"]').selectOption('terminal');
    await admin.waitForURL('**/office/audit?action=test.paging&entity=terminal');
    await expect.poll(() => rows.count()).toBe(30);
    expect(await admin.getByTestId('load-more').count()).toBe(0);
  });

  it('settles T0000001 from the page, lists the batch, and reconciles a file with advice per mismatch', async () => {
    const admin = await office(ADMIN);
    await openPage(admin, 'settlement');
    const form = admin.getByTestId('settle-form');
    await form.locator('input[name="settleTerminal"]').fill(DEMO.terminalId);
    await form.getByTestId('settle').click();
    await admin.getByTestId('confirm').getByText(`结算终端 ${DEMO.terminalId}`).waitFor();
    await admin.getByTestId('confirm-yes').click();
    await form.getByTestId('settle-done').waitFor();
    const batch = admin.locator(`[data-testid="settlements"] [data-terminal="${DEMO.terminalId}"]`).first();
    await batch.waitFor();
    expect(await batch.locator('[data-bucket="sales"]').textContent()).toMatch(/¥[\d,]+\.\d{2}/);
    await admin.getByTestId('batch-detail').waitFor();
    // The batches as CSV, with the list's filters (this till): Chinese headers, yuan amounts.
    await admin.locator('input[name="batchTerminal"]').fill(DEMO.terminalId);
    await admin.locator('input[name="batchTerminal"]').press('Enter');
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.locator('section.settle-batches').getByTestId('export-csv').click(),
    ]);
    expect(download.suggestedFilename()).toBe('settlements.csv');
    const bytes = readFileSync((await download.path()) as string);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [header, ...batches] = parseCsv(bytes.subarray(3).toString('utf8'));
    expect(header?.slice(0, 6)).toEqual([
      '结算编号',
      '终端号',
      '批次号',
      '结算时间',
      '消费笔数',
      '消费金额(元)',
    ]);
    expect(batches.length).toBeGreaterThanOrEqual(1);
    for (const b of batches) expect(b[1]).toBe(DEMO.terminalId);
    expect(batches[0]?.[5]).toMatch(/^\d+\.\d{2}$/);
    expect(['平账', '不平']).toContain(batches[0]?.[header?.indexOf('对账结果') ?? -1]);

    // A settlement file with a sale our ledger does not have: listed with what to do about it.
    const now = new Date();
    const csv = [
      'rrn,terminal_id,stan,batch_no,kind,amount_minor,currency,original_rrn,status,response_code,created_at',
      `ZZ0000000001,${DEMO.terminalId},000123,000001,sale,1234,CNY,,approved,00,${now.toISOString()}`,
    ].join('\n');
    await admin.locator('input[name="reconDay"]').fill(now.toISOString().slice(0, 10));
    await admin.getByTestId('recon-file').setInputFiles({
      name: 'settlement.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`${csv}\n`, 'utf8'),
    });
    const detail = admin.getByTestId('recon-detail');
    await detail.waitFor();
    const unknown = detail.locator('[data-mismatch="missing_in_ledger"]').first();
    await unknown.waitFor();
    expect(await unknown.getAttribute('data-advice')).toBe('find_unrecorded_sale');
    expect(await unknown.getByTestId('advice').textContent()).toContain('网络方有一笔我方没有记录的消费');
    await admin.locator('[data-testid="reconciliations"] [data-reconciliation]').first().waitFor();

    // The run's mismatches as CSV, each with its advice in Chinese.
    const day = now.toISOString().slice(0, 10);
    const [mismatchFile] = await Promise.all([
      admin.waitForEvent('download'),
      detail.getByTestId('export-csv').click(),
    ]);
    expect(mismatchFile.suggestedFilename()).toBe(`mismatches-${day}.csv`);
    const mismatchBytes = readFileSync((await mismatchFile.path()) as string);
    expect([...mismatchBytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [mHeader, ...mismatches] = parseCsv(mismatchBytes.subarray(3).toString('utf8'));
    expect(mHeader?.slice(0, 4)).toEqual(['序号', '差异类型', '交易类型', '参考号']);
    const col = (name: string) => mHeader?.indexOf(name) ?? -1;
    const listed = await detail.locator('[data-mismatch]').count();
    expect(mismatches).toHaveLength(listed);
    const zz = mismatches.find((m) => m[col('参考号')] === 'ZZ0000000001');
    expect(zz?.[col('差异类型')]).toBe('我方缺少');
    expect(zz?.[col('网络方金额(元)')]).toBe('12.34');
    expect(zz?.[col('处理建议')]).toContain('网络方有一笔我方没有记录的消费');
  });
});
