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
import type { Caller, Ctx } from './context.js';
import { networkDown } from './payments.js';

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
  const differences = compareTotals(local, network.totals);
  const id = `stl_${ulid()}`;
  const now = ctx.clock();
  await trx
    .insertInto('settlements')
    .values({
      id,
      merchant_id: caller.merchantId,
      terminal_id: terminalId,
      batch_no: network.batchNo,
      totals_json: JSON.stringify(all),
      network_totals_json: JSON.stringify(network.totals),
      balanced: differences.length === 0 ? 1 : 0,
      created_by: caller.actor,
      created_at: now.toISOString(),
    })
    .execute();
  // In chunks: one statement per SETTLE_CHUNK_ROWS rows stays under the databases'
  // bound-parameter limits at any batch size (one statement of all ids failed past 32,766).
  for (let at = 0; at < Math.max(payments.length, refunds.length); at += SETTLE_CHUNK_ROWS) {
    await markSettled(
      trx,
      caller.merchantId,
      id,
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
    data: { settlementId: id, batchNo: network.batchNo, balanced: differences.length === 0 },
    at: now,
  });
  const view = (t: { count: number; amountMinor: number }) => ({ count: t.count, amount: t.amountMinor });
  return {
    id,
    terminalId,
    batchNo: network.batchNo,
    totals: {
      sales: view(all.sales),
      voids: view(all.voids),
      refunds: view(all.refunds),
      cash: view(all.cash),
    },
    reconciliation: {
      balanced: differences.length === 0,
      local: { sales: view(local.sales), voids: view(local.voids), refunds: view(local.refunds) },
      network: {
        sales: view(network.totals.sales),
        voids: view(network.totals.voids),
        refunds: view(network.totals.refunds),
      },
      differences: differences.map((d) => ({
        bucket: d.bucket,
        local: view(d.local),
        network: view(d.network),
      })),
    },
    createdAt: now.toISOString(),
  };
}
