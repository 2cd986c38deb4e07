import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { requirePermission } from '../domain/auth.js';
import { shanghaiDate } from '../domain/calendar.js';
import { decimalAmount } from '../domain/money.js';
import type { MismatchKind, NetworkKind, NetworkStatus } from '../domain/reconcile.js';
import type { SettlementTotals } from '../network/port.js';
import { paymentMethodLabels, reasonLabels, refundMethodLabels, statusLabels } from '../receipts/model.js';
import { type AuditFilter, type AuditListRow, readAuditPage } from '../store/audit.js';
import { listOperators } from './auth.js';
import type { Caller, Ctx } from './context.js';
import { listPayments, type PaymentFilter } from './payments.js';
import { getReconciliation, type MismatchView } from './reconciliation.js';
import { listRefunds, type RefundFilter } from './refunds.js';
import { listSettlements, type SettlementFilter, type SettlementView } from './settlements.js';
import type { PaymentView, RefundView } from './views.js';

/**
 * CSV exports of the back office's lists (PRODUCT.md §6 "exportable (CSV)", issue 11 "Exports"):
 * what Excel in China opens with the Chinese intact — UTF-8 with a BOM (without it Excel reads the
 * file as GBK), RFC 4180 (CRLF, fields with `,` `"` or line breaks quoted, quotes doubled; done by
 * csv-stringify), headers in Chinese, amounts as decimal yuan from the integer fen, times as
 * `YYYY-MM-DD HH:mm:ss` in the merchant's time zone, consumer details only as masked at rest.
 *
 * Streamed: the rows are read in keyset pages of EXPORT_PAGE_ROWS through the lists' own queries
 * (the same filters, the same cursor) and piped through csv-stringify to the reply. A page is read
 * only when the one before has been written out, so a slow client holds the reading back
 * (backpressure) and memory stays at about a page, however many rows the export has.
 */
export const EXPORT_PAGE_ROWS = 1_000;

/** Asia/Shanghai is UTC+8 all year (domain/calendar.ts says why no DST). */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** `YYYY-MM-DD HH:mm:ss` in Asia/Shanghai, from a stored ISO-8601 UTC time. */
export function shanghaiDateTime(iso: string): string {
  const shifted = new Date(Date.parse(iso) + SHANGHAI_OFFSET_MS).toISOString();
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 19)}`;
}

type Cell = string | number | null;

/**
 * Text Excel would run as a formula (`=`, `+`, `-`, `@`, tab or CR first: CSV injection) gets a
 * leading `'` — a note typed by a consumer must never become a formula on a supervisor's desk.
 */
function text(v: string | null | undefined): Cell {
  if (v === null || v === undefined) return null;
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

/**
 * An identifier that may be all digits (order number, reference, response code, card last four):
 * Excel would read it as a number — dropping leading zeros, showing 12 digits as 1.23457E+11 — so
 * digits alone are written as the text formula `="0123"`, which Excel shows as `0123`.
 */
function id(v: string | null | undefined): Cell {
  if (v === null || v === undefined) return null;
  return /^[0-9]+$/.test(v) ? `="${v}"` : text(v);
}

const time = (iso: string | null | undefined): Cell => (iso ? shanghaiDateTime(iso) : null);
const yesNo = (b: boolean): Cell => (b ? '是' : '否');
const zh = (table: Readonly<Record<string, { 'zh-CN': string }>>, code: string): Cell =>
  table[code]?.['zh-CN'] ?? code;

export interface CsvColumn<R> {
  header: string;
  value: (row: R) => Cell;
}

export interface CsvExport {
  /** `<name>-YYYYMMDD.csv`, the merchant's today. */
  filename: string;
  body: Readable;
}

export interface ExportOptions {
  /** Rows per keyset page (default EXPORT_PAGE_ROWS). */
  pageRows?: number;
  /** Told after each page is read, with its row count (tests: reading keeps pace with writing). */
  onPage?: (rows: number) => void;
}

interface Page<R> {
  data: R[];
  nextCursor: string | null;
}

/**
 * The export of one list. Its first page is read before anything is answered, so a refused
 * filter or permission is a problem+json answer, not a file cut short; the rest is read as the
 * client takes the bytes.
 */
async function csvExport<R>(
  ctx: Ctx,
  name: string,
  columns: readonly CsvColumn<R>[],
  fetchPage: (cursor: string | undefined, limit: number) => Promise<Page<R>>,
  opts: ExportOptions,
): Promise<CsvExport> {
  const limit = opts.pageRows ?? EXPORT_PAGE_ROWS;
  const first = await fetchPage(undefined, limit);
  opts.onPage?.(first.data.length);
  async function* records() {
    let page = first;
    for (;;) {
      for (const row of page.data) yield columns.map((c) => c.value(row));
      if (page.nextCursor === null) return;
      page = await fetchPage(page.nextCursor, limit);
      opts.onPage?.(page.data.length);
    }
  }
  const csv = stringify({
    bom: true,
    header: true,
    columns: columns.map((c) => c.header),
    record_delimiter: 'windows',
  });
  pipeline(Readable.from(records()), csv, (err) => {
    // A client that went away, or a store error mid-file: the answer ends early, nothing else.
    if (err) ctx.log.warn({ export: name, err: err.message }, 'CSV export ended early');
  });
  return { filename: `${name}-${shanghaiDate(ctx.clock()).replaceAll('-', '')}.csv`, body: csv };
}

const paymentStatusLabels: Readonly<Record<string, string>> = {
  captured: '已收款',
  voided: '已撤销',
  refunded: '已全额退款',
  partially_refunded: '部分退款',
};

const paymentColumns: readonly CsvColumn<PaymentView>[] = [
  { header: '订单号', value: (p) => id(p.orderNo) },
  { header: '交易编号', value: (p) => id(p.id) },
  { header: '交易类型', value: (p) => (p.kind === 'sale' ? '消费' : '补收差额') },
  { header: '交易时间', value: (p) => time(p.capturedAt) },
  { header: '支付方式', value: (p) => zh(paymentMethodLabels, p.method) },
  { header: '卡号后四位', value: (p) => id(p.card?.last4) },
  { header: '金额(元)', value: (p) => decimalAmount(p.amount, p.currency) },
  { header: '已退款(元)', value: (p) => decimalAmount(p.refundedAmount, p.currency) },
  { header: '退款处理中(元)', value: (p) => decimalAmount(p.inFlightAmount, p.currency) },
  { header: '可退金额(元)', value: (p) => decimalAmount(p.refundableAmount, p.currency) },
  { header: '手续费(元)', value: (p) => decimalAmount(p.fee, p.currency) },
  { header: '币种', value: (p) => p.currency },
  { header: '状态', value: (p) => paymentStatusLabels[p.status] ?? p.status },
  { header: '已结算', value: (p) => yesNo(p.settled) },
  { header: '撤销时间', value: (p) => time(p.voidedAt) },
  { header: '终端号', value: (p) => id(p.terminalId) },
  { header: '参考号', value: (p) => id(p.network.reference) },
];

const refundColumns: readonly CsvColumn<RefundView>[] = [
  { header: '退款单号', value: (r) => id(r.id) },
  { header: '订单号', value: (r) => id(r.orderNo) },
  { header: '原交易编号', value: (r) => id(r.paymentId) },
  { header: '申请时间', value: (r) => time(r.createdAt) },
  { header: '更新时间', value: (r) => time(r.updatedAt) },
  { header: '退款金额(元)', value: (r) => decimalAmount(r.amount, r.currency) },
  { header: '手续费(元)', value: (r) => decimalAmount(r.fee, r.currency) },
  { header: '实退金额(元)', value: (r) => decimalAmount(r.netAmount, r.currency) },
  { header: '币种', value: (r) => r.currency },
  { header: '退款方式', value: (r) => zh(refundMethodLabels, r.method) },
  { header: '状态', value: (r) => zh(statusLabels, r.status) },
  { header: '延迟', value: (r) => yesNo(r.delayed) },
  { header: '预计到账日', value: (r) => r.expectedArrival },
  { header: '退款原因', value: (r) => zh(reasonLabels, r.reason.code) },
  { header: '原因说明', value: (r) => text(r.reason.note) },
  // Masked at rest (security.ts maskConsumer): the export never sees more.
  { header: '顾客姓名(脱敏)', value: (r) => text(r.consumer?.name) },
  { header: '联系电话(脱敏)', value: (r) => text(r.consumer?.phone) },
  { header: '邮箱(脱敏)', value: (r) => text(r.consumer?.email) },
  { header: '收款账号(脱敏)', value: (r) => text(r.consumer?.bankAccount) },
  { header: '批准人', value: (r) => r.approvals.map((a) => a.operatorNo).join(' ') || null },
  { header: '操作员', value: (r) => text(r.createdBy) },
  { header: '终端号', value: (r) => id(r.terminalId) },
  { header: '参考号', value: (r) => id(r.network.reference) },
  { header: '应答码', value: (r) => id(r.network.responseCode) },
];

const auditColumns: readonly CsvColumn<AuditListRow>[] = [
  { header: '序号', value: (a) => Number(a.seq) },
  { header: '时间', value: (a) => time(a.at) },
  { header: '操作人', value: (a) => text(a.actor) },
  { header: '操作', value: (a) => text(a.action) },
  { header: '对象类型', value: (a) => text(a.entity) },
  { header: '对象编号', value: (a) => id(a.entity_id) },
  { header: '详情(JSON)', value: (a) => text(a.data_json) },
  { header: '哈希', value: (a) => a.hash },
];

const bucketWords: Readonly<Record<keyof SettlementTotals, string>> = {
  sales: '消费',
  voids: '撤销',
  refunds: '退款',
};
const settlementBuckets = ['sales', 'voids', 'refunds'] as const;

/**
 * A batch per row: its totals (cash too) as our ledger had them, the network's totals, and which
 * buckets differ — the page's reconciliation, in columns a spreadsheet can sum.
 */
function settlementColumns(currency: string): readonly CsvColumn<SettlementView>[] {
  const yuan = (amountMinor: number) => decimalAmount(amountMinor, currency);
  const ours = settlementBuckets.flatMap((b): CsvColumn<SettlementView>[] => [
    { header: `${bucketWords[b]}笔数`, value: (s) => s.totals[b].count },
    { header: `${bucketWords[b]}金额(元)`, value: (s) => yuan(s.totals[b].amount) },
  ]);
  const network = settlementBuckets.flatMap((b): CsvColumn<SettlementView>[] => [
    { header: `网络${bucketWords[b]}笔数`, value: (s) => s.reconciliation.network[b].count },
    { header: `网络${bucketWords[b]}金额(元)`, value: (s) => yuan(s.reconciliation.network[b].amount) },
  ]);
  return [
    { header: '结算编号', value: (s) => id(s.id) },
    { header: '终端号', value: (s) => id(s.terminalId) },
    { header: '批次号', value: (s) => s.batchNo },
    { header: '结算时间', value: (s) => time(s.createdAt) },
    ...ours,
    { header: '现金笔数', value: (s) => s.totals.cash.count },
    { header: '现金金额(元)', value: (s) => yuan(s.totals.cash.amount) },
    ...network,
    { header: '币种', value: () => currency },
    { header: '对账结果', value: (s) => (s.reconciliation.balanced ? '平账' : '不平') },
    {
      header: '差异项',
      value: (s) => s.reconciliation.differences.map((d) => bucketWords[d.bucket]).join(' ') || null,
    },
    { header: '结算人', value: (s) => text(s.createdBy) },
  ];
}

export type PaymentExportFilter = Omit<PaymentFilter, 'cursor' | 'limit'>;
export type RefundExportFilter = Omit<RefundFilter, 'cursor' | 'limit'>;

export async function exportPayments(
  ctx: Ctx,
  caller: Caller,
  filter: PaymentExportFilter,
  opts: ExportOptions = {},
): Promise<CsvExport> {
  requirePermission(caller.principal, 'report.read');
  return csvExport(
    ctx,
    'payments',
    paymentColumns,
    (cursor, limit) => listPayments(ctx, caller, { ...filter, cursor, limit }),
    opts,
  );
}

export async function exportRefunds(
  ctx: Ctx,
  caller: Caller,
  filter: RefundExportFilter,
  opts: ExportOptions = {},
): Promise<CsvExport> {
  requirePermission(caller.principal, 'report.read');
  return csvExport(
    ctx,
    'refunds',
    refundColumns,
    (cursor, limit) => listRefunds(ctx, caller, { ...filter, cursor, limit }),
    opts,
  );
}

/** The merchant's own audit chain, newest first, in pages along its key (chain_id, seq). */
export async function exportAudit(
  ctx: Ctx,
  caller: Caller,
  filter: AuditFilter,
  opts: ExportOptions = {},
): Promise<CsvExport> {
  requirePermission(caller.principal, 'audit.read');
  const fetchPage = async (cursor: string | undefined, limit: number): Promise<Page<AuditListRow>> => {
    const page = await readAuditPage(ctx.store.db, caller.merchantId, filter, { cursor, limit });
    return { data: page.rows, nextCursor: page.nextCursor };
  };
  return csvExport(ctx, 'audit', auditColumns, fetchPage, opts);
}

export type SettlementExportFilter = Omit<SettlementFilter, 'cursor' | 'limit'>;

/** Closed batches, newest first, with the filters and the permission of GET /v1/settlements. */
export async function exportSettlements(
  ctx: Ctx,
  caller: Caller,
  filter: SettlementExportFilter,
  opts: ExportOptions = {},
): Promise<CsvExport> {
  // A batch's totals are in the merchant's currency, which its row does not repeat.
  const { currency } = await ctx.store.db
    .selectFrom('merchants')
    .select('currency')
    .where('id', '=', caller.merchantId)
    .executeTakeFirstOrThrow();
  return csvExport(
    ctx,
    'settlements',
    settlementColumns(currency),
    (cursor, limit) => listSettlements(ctx, caller, { ...filter, cursor, limit }),
    opts,
  );
}

// ---- one reconciliation run's mismatches ----------------------------------------------------

/** The words of the settlement page (src/web/office/pages/admin.words.ts), in 简体中文. */
const mismatchKindWords: Readonly<Record<MismatchKind, string>> = {
  missing_in_ledger: '我方缺少',
  missing_in_network: '网络方缺少',
  amount_differs: '金额不一致',
  status_differs: '状态不一致',
};
const networkKindWords: Readonly<Record<NetworkKind, string>> = {
  sale: '消费',
  void: '撤销',
  refund: '退款',
};
const networkStatusWords: Readonly<Record<NetworkStatus, string>> = {
  approved: '已批准',
  reversed: '已冲正',
  voided: '已撤销',
};
/** Our side: a sale `captured` or `voided`, a void `voided`, a refund its refund status. */
const ledgerStatus = (s: string): Cell => paymentStatusLabels[s] ?? zh(statusLabels, s);

interface NumberedMismatch {
  /** 1-based, in the run's order (the page's numbering). */
  no: number;
  m: MismatchView;
}

const mismatchColumns: readonly CsvColumn<NumberedMismatch>[] = [
  { header: '序号', value: ({ no }) => no },
  { header: '差异类型', value: ({ m }) => mismatchKindWords[m.kind] },
  {
    header: '交易类型',
    value: ({ m }) => {
      const kind = m.networkRow?.kind ?? m.ledgerRow?.kind;
      return kind ? networkKindWords[kind] : null;
    },
  },
  { header: '参考号', value: ({ m }) => id(m.reference) },
  {
    header: '原交易参考号',
    value: ({ m }) => id(m.networkRow?.originalRrn ?? m.ledgerRow?.originalReference),
  },
  { header: '终端号', value: ({ m }) => id(m.networkRow?.terminalId) },
  { header: '清算文件行号', value: ({ m }) => m.networkRow?.line ?? null },
  {
    header: '网络方金额(元)',
    value: ({ m }) => (m.networkRow ? decimalAmount(m.networkRow.amount, m.networkRow.currency) : null),
  },
  { header: '网络方币种', value: ({ m }) => m.networkRow?.currency ?? null },
  { header: '网络方状态', value: ({ m }) => (m.networkRow ? networkStatusWords[m.networkRow.status] : null) },
  { header: '网络方应答码', value: ({ m }) => id(m.networkRow?.responseCode) },
  { header: '网络方记账时间', value: ({ m }) => time(m.networkRow?.createdAt) },
  {
    header: '我方金额(元)',
    value: ({ m }) => (m.ledgerRow ? decimalAmount(m.ledgerRow.amount, m.ledgerRow.currency) : null),
  },
  { header: '我方币种', value: ({ m }) => m.ledgerRow?.currency ?? null },
  { header: '我方状态', value: ({ m }) => (m.ledgerRow ? ledgerStatus(m.ledgerRow.status) : null) },
  { header: '我方发送时间', value: ({ m }) => time(m.ledgerRow?.at) },
  { header: '重复于行号', value: ({ m }) => m.duplicateOfLine ?? null },
  { header: '处理建议', value: ({ m }) => text(m.advice.text['zh-CN']) },
  { header: '建议代码', value: ({ m }) => m.advice.code },
  { header: '说明', value: ({ m }) => text(m.detail) },
];

/**
 * Every mismatch of one reconciliation run, as GET /v1/reconciliations/:id shows them (the same
 * view: amounts, and the advice worked out now), with its permission and its 404 for another
 * merchant's run. A run's mismatches are one stored row, read whole as that route reads it; they
 * are written out a page at a time all the same, so the reply keeps to the client's pace.
 */
export async function exportMismatches(
  ctx: Ctx,
  caller: Caller,
  reconciliationId: string,
  opts: ExportOptions = {},
): Promise<CsvExport> {
  const run = await getReconciliation(ctx, caller, reconciliationId);
  const fetchPage = async (cursor: string | undefined, limit: number): Promise<Page<NumberedMismatch>> => {
    const from = cursor === undefined ? 0 : Number(cursor);
    const to = Math.min(from + limit, run.mismatches.length);
    const data = run.mismatches.slice(from, to).map((m, i) => ({ no: from + i + 1, m }));
    return { data, nextCursor: to < run.mismatches.length ? String(to) : null };
  };
  return csvExport(ctx, `reconciliation-${run.day}-mismatches`, mismatchColumns, fetchPage, opts);
}

// ---- operators ------------------------------------------------------------------------------

type OperatorListView = Awaited<ReturnType<typeof listOperators>>['data'][number];

const roleWords: Readonly<Record<OperatorListView['role'], string>> = {
  cashier: '收银员',
  supervisor: '主管',
  admin: '管理员',
};

/** What GET /v1/operators shows: never a password or its hash, which the view does not hold. */
const operatorColumns: readonly CsvColumn<OperatorListView>[] = [
  { header: '操作员号', value: (o) => id(o.operatorNo) },
  { header: '姓名', value: (o) => text(o.name) },
  { header: '角色', value: (o) => roleWords[o.role] },
  { header: '状态', value: (o) => (o.disabled ? '已停用' : '启用') },
  { header: '停用时间', value: (o) => time(o.disabledAt) },
  { header: '签到锁定至', value: (o) => time(o.signInLockedUntil) },
  { header: '退款密码锁定至', value: (o) => time(o.approvalLockedUntil) },
];

/**
 * The merchant's operators with their locks in force, for admins (`operator.manage`), as
 * GET /v1/operators lists them: a merchant's staff, one page (that list is not paged either).
 */
export async function exportOperators(
  ctx: Ctx,
  caller: Caller,
  opts: ExportOptions = {},
): Promise<CsvExport> {
  const { data } = await listOperators(ctx, caller);
  return csvExport(ctx, 'operators', operatorColumns, async () => ({ data, nextCursor: null }), opts);
}
