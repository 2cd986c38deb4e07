import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/payment.js';
import { ulid } from '../ids.js';
import type { SettlementTotals } from '../network/port.js';
import { appendAudit } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import { markSettled } from '../store/ledger.js';
import { refuseWhileActive } from '../store/operations.js';
import { lockMerchant } from '../store/repo.js';
import type { SettlementTable } from '../store/schema.js';
import type { Caller, Ctx } from './context.js';
import { networkDown } from './payments.js';
import { afterCursor, decodeCursor, page } from './views.js';

type Bucket = keyof SettlementTotals;

/**
 * Rows marked settled per statement: well under the bound-parameter limits (SQLite 32,766,
 * PostgreSQL 65,535), and large, because SQLite (never ANALYZEd) plans markSettled's
 * `merchant_id = ? and id in (…)` on a merchant index and reads all the merchant's rows once per
 * statement. A set-based markSettled (by terminal, through the open-batch indexes) would not.
 */
export const SETTLE_CHUNK_ROWS = 10_000;

/** Where the two sides' totals differ, bucket by bucket. */
export function compareTotals(local: SettlementTotals, network: SettlementTotals) {
  const buckets: Bucket[] = ['sales', 'voids', 'refunds'];
  return buckets
    .filter((b) => local[b].count !== network[b].count || local[b].amountMinor !== network[b].amountMinor)
    .map((b) => ({ bucket: b, local: local[b], network: network[b] }));
}

/** The terminal's open batch as our ledger has it: what the network saw, and everything incl. cash. */
export async function localBatch(trx: Tx, merchantId: string, terminalId: string) {
  const payments = await trx
    .selectFrom('payments')
    .select(['id', 'amount_minor', 'voided', 'method'])
    .where('merchant_id', '=', merchantId)
    .where('terminal_id', '=', terminalId)
    .where('settled', '=', 0)
    .execute();
  const refunds = await trx
    .selectFrom('refunds')
    .innerJoin('payments', (j) =>
      j
        .onRef('payments.id', '=', 'refunds.payment_id')
        .onRef('payments.merchant_id', '=', 'refunds.merchant_id'),
    )
    .select(['refunds.id', 'refunds.net_amount_minor', 'payments.method as paymentMethod', 'refunds.method'])
    .where('refunds.merchant_id', '=', merchantId)
    .where('refunds.terminal_id', '=', terminalId)
    .where('refunds.status', '=', 'succeeded')
    .where('refunds.settlement_id', 'is', null)
    .execute();
  const empty = (): SettlementTotals => ({
    sales: { count: 0, amountMinor: 0 },
    voids: { count: 0, amountMinor: 0 },
    refunds: { count: 0, amountMinor: 0 },
  });
  const add = (t: SettlementTotals, bucket: keyof SettlementTotals, amount: number) => {
    t[bucket].count++;
    t[bucket].amountMinor += amount;
  };
  const byMethod: Record<PaymentMethod, SettlementTotals> = { card: empty(), qr: empty(), cash: empty() };
  const local = empty();
  const all = empty();
  for (const p of payments) {
    const bucket = p.voided === 1 ? 'voids' : 'sales';
    add(all, bucket, Number(p.amount_minor));
    add(byMethod[p.method], bucket, Number(p.amount_minor));
    // The network only sees what went through it: card and QR sales, original-route refunds.
    if (p.method !== 'cash') add(local, bucket, Number(p.amount_minor));
  }
  for (const r of refunds) {
    add(all, 'refunds', Number(r.net_amount_minor));
    if (r.method !== 'original' || r.paymentMethod === 'cash') continue;
    add(byMethod[r.paymentMethod], 'refunds', Number(r.net_amount_minor));
    add(local, 'refunds', Number(r.net_amount_minor));
  }
  const cash = byMethod.cash.sales;
  return { payments, refunds, local, all: { ...all, cash }, byMethod };
}

/** 批结算, step 1 (outside the store transaction): close the terminal's batch on the network. */
export async function settleOnNetwork(ctx: Ctx, caller: Caller, terminalId: string) {
  requirePermission(caller.principal, 'settlement.create');
  const terminal = await ctx.store.db
    .selectFrom('terminals')
    .selectAll()
    .where('id', '=', terminalId)
    .where('merchant_id', '=', caller.merchantId)
    .executeTakeFirst();
  if (!terminal) throw new DomainError('not_found', `terminal ${terminalId} not found`);
  // A sale, void or charge still at the network would land on one side of the cut only.
  await refuseWhileActive(
    ctx.store.db,
    caller.merchantId,
    { kinds: ['sale', 'void', 'adjustment', 'charge'] },
    'the batch cannot be settled now',
  );
  const { local, byMethod } = await localBatch(ctx.store.db, caller.merchantId, terminalId);
  const totals = await ctx.network
    .settle({ merchantId: caller.merchantId, terminalId, batchNo: terminal.batch_no, local, byMethod })
    .catch(networkDown);
  return { batchNo: terminal.batch_no, totals };
}

/** 批结算, step 2: total the local batch, reconcile with the network's totals, close the batch. */
export async function recordSettlement(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  terminalId: string,
  network: { batchNo: number; totals: SettlementTotals },
) {
  await lockMerchant(trx, caller.merchantId);
  const { payments, refunds, local, all } = await localBatch(trx, caller.merchantId, terminalId);
  const balanced = compareTotals(local, network.totals).length === 0;
  const now = ctx.clock();
  const row: SettlementTable = {
    id: `stl_${ulid()}`,
    merchant_id: caller.merchantId,
    terminal_id: terminalId,
    batch_no: network.batchNo,
    // Our side as the network saw it (`local`) is kept beside the whole batch, so the batch's
    // reconciliation can be shown again later exactly as it was made.
    totals_json: JSON.stringify({ ...all, local } satisfies StoredTotals),
    network_totals_json: JSON.stringify(network.totals),
    balanced: balanced ? 1 : 0,
    created_by: caller.actor,
    created_at: now.toISOString(),
  };
  await trx.insertInto('settlements').values(row).execute();
  // In chunks: one statement per SETTLE_CHUNK_ROWS rows stays under the databases'
  // bound-parameter limits at any batch size (one statement of all ids failed past 32,766).
  for (let at = 0; at < Math.max(payments.length, refunds.length); at += SETTLE_CHUNK_ROWS) {
    await markSettled(
      trx,
      caller.merchantId,
      row.id,
      payments.slice(at, at + SETTLE_CHUNK_ROWS).map((p) => p.id),
      refunds.slice(at, at + SETTLE_CHUNK_ROWS).map((r) => r.id),
    );
  }
  await trx
    .updateTable('terminals')
    .set({ batch_no: network.batchNo + 1 })
    .where('id', '=', terminalId)
    .where('merchant_id', '=', caller.merchantId)
    .execute();
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'settlement.closed',
    entity: 'terminal',
    entityId: terminalId,
    data: { settlementId: row.id, batchNo: network.batchNo, balanced },
    at: now,
  });
  return settlementView(row);
}

// ---- reading --------------------------------------------------------------------------------

type Tally = SettlementTotals['sales'];
/** `settlements.totals_json`: the whole batch (cash included) and, since issue 11, our side as sent. */
interface StoredTotals extends SettlementTotals {
  cash: Tally;
  local?: SettlementTotals;
}

const tallyView = (t: Tally) => ({ count: t.count, amount: t.amountMinor });
const bucketsView = (t: SettlementTotals) => ({
  sales: tallyView(t.sales),
  voids: tallyView(t.voids),
  refunds: tallyView(t.refunds),
});

/** A closed batch as `POST /v1/settlements` answered it, read back from its row. */
export function settlementView(row: SettlementTable) {
  const totals = JSON.parse(row.totals_json) as StoredTotals;
  const network = JSON.parse(row.network_totals_json) as SettlementTotals;
  const balanced = Number(row.balanced) === 1;
  // A batch closed before our side was kept: when balanced, ours equalled the network's.
  const local = totals.local ?? (balanced ? network : null);
  return {
    id: row.id,
    terminalId: row.terminal_id,
    batchNo: Number(row.batch_no),
    totals: { ...bucketsView(totals), cash: tallyView(totals.cash) },
    reconciliation: {
      balanced,
      local: local ? bucketsView(local) : null,
      network: bucketsView(network),
      differences: (local ? compareTotals(local, network) : []).map((d) => ({
        bucket: d.bucket,
        local: tallyView(d.local),
        network: tallyView(d.network),
      })),
    },
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

export type SettlementView = ReturnType<typeof settlementView>;

export interface SettlementFilter {
  terminalId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * Closed batches, newest first: the merchant's, or one terminal's. Each index range (migration
 * 0020) is read in page order and stops after a page.
 */
export async function listSettlements(ctx: Ctx, caller: Caller, f: SettlementFilter) {
  requirePermission(caller.principal, 'reconciliation.run');
  let q = ctx.store.db.selectFrom('settlements').selectAll().where('merchant_id', '=', caller.merchantId);
  if (f.terminalId) q = q.where('terminal_id', '=', f.terminalId);
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  const after = afterCursor(f.cursor);
  if (after) q = q.where(after);
  const bound = f.cursor ? decodeCursor(f.cursor) : null;
  if (bound) q = q.where('created_at', '<=', bound.createdAt);
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(f.limit + 1)
    .execute();
  return page(rows.map(settlementView), f.limit);
}

export async function getSettlement(ctx: Ctx, caller: Caller, id: string) {
  requirePermission(caller.principal, 'reconciliation.run');
  const row = await ctx.store.db
    .selectFrom('settlements')
    .selectAll()
    .where('id', '=', id)
    .where('merchant_id', '=', caller.merchantId)
    .executeTakeFirst();
  if (!row) throw new DomainError('not_found', `settlement ${id} not found`);
  return settlementView(row);
}
