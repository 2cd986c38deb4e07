import type { Kysely } from 'kysely';
import { DEMO } from '../../../src/demo.js';
import { inFlightStatuses, type RefundStatus } from '../../../src/domain/refund-state.js';
import { verifyAudit } from '../../../src/store/audit.js';
import type { Store } from '../../../src/store/db.js';
import type { Database } from '../../../src/store/schema.js';

/**
 * Every invariant the ledger must satisfy in ANY committed state (also right after a crash), read
 * straight from the store. Returns human-readable violations; an empty list means consistent.
 */
export async function ledgerViolations(store: Store, opts: LedgerCheckOptions = {}): Promise<string[]> {
  // One snapshot for all the reads, so a server still running beside the check cannot skew them.
  const snapshot = (trx: Kysely<Database>) => violationsIn({ ...store, db: trx }, opts);
  if (store.dialect === 'postgres') {
    return store.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(snapshot);
  }
  return store.db.transaction().execute(snapshot); // SQLite WAL: a read transaction sees one snapshot
}

export interface LedgerCheckOptions {
  /** Also require that background work is finished (nothing approved/processing, outbox empty). */
  settled?: boolean;
  /** Idempotency-Key prefix used for every refund creation: each refund must map to exactly one key row. */
  createKeyPrefix?: string;
}

async function violationsIn(store: Store, opts: LedgerCheckOptions): Promise<string[]> {
  const out: string[] = [];
  const db = store.db;
  const payments = await db.selectFrom('payments').selectAll().execute();
  const refunds = await db.selectFrom('refunds').selectAll().orderBy('id').execute();
  const events = await db.selectFrom('refund_events').selectAll().orderBy('id').execute();
  const outbox = await db.selectFrom('outbox').selectAll().execute();
  const items = await db.selectFrom('payment_items').selectAll().execute();
  const audit = await db.selectFrom('audit_log').select(['action', 'entity', 'entity_id']).execute();
  const keys = await db.selectFrom('idempotency_keys').selectAll().execute();
  const merchants = await db.selectFrom('merchants').selectAll().execute();
  const acqTx = await db.selectFrom('acq_transactions').selectAll().execute();
  const acqAccounts = await db.selectFrom('acq_accounts').selectAll().execute();
  const dayTotals = await db.selectFrom('merchant_day_totals').selectAll().execute();

  const isInFlight = (s: string) => inFlightStatuses.includes(s as RefundStatus);
  const refundById = new Map(refunds.map((r) => [r.id, r]));

  // 1. Running totals of every payment against its refunds.
  for (const p of payments) {
    const mine = refunds.filter((r) => r.payment_id === p.id);
    const succeeded = mine
      .filter((r) => r.status === 'succeeded')
      .reduce((s, r) => s + Number(r.amount_minor), 0);
    const inFlight = mine.filter((r) => isInFlight(r.status)).reduce((s, r) => s + Number(r.amount_minor), 0);
    if (Number(p.refunded_minor) !== succeeded)
      out.push(`payment ${p.id}: refunded_minor ${p.refunded_minor} ≠ Σ succeeded refunds ${succeeded}`);
    if (Number(p.in_flight_minor) !== inFlight)
      out.push(`payment ${p.id}: in_flight_minor ${p.in_flight_minor} ≠ Σ refunds in flight ${inFlight}`);
    if (Number(p.refunded_minor) < 0 || Number(p.in_flight_minor) < 0)
      out.push(`payment ${p.id}: negative totals`);
    if (Number(p.refunded_minor) + Number(p.in_flight_minor) > Number(p.amount_minor))
      out.push(
        `payment ${p.id}: refunded ${p.refunded_minor} + in flight ${p.in_flight_minor} > ${p.amount_minor}`,
      );
  }
  for (const r of refunds) {
    if (!payments.some((p) => p.id === r.payment_id))
      out.push(`refund ${r.id}: payment ${r.payment_id} missing`);
  }

  // 2. Line items: refunded_qty = units of refunds in flight or succeeded.
  for (const it of items) {
    let units = 0;
    for (const r of refunds) {
      if (r.payment_id !== it.payment_id || !(isInFlight(r.status) || r.status === 'succeeded')) continue;
      for (const line of JSON.parse(r.items_json) as { sku: string; qty: number }[])
        if (line.sku === it.sku) units += line.qty;
    }
    if (it.refunded_qty !== units)
      out.push(`payment ${it.payment_id} sku ${it.sku}: refunded_qty ${it.refunded_qty} ≠ ${units}`);
  }

  // 3. History: one creation event per refund, a gap-free chain of moves ending at the current status.
  for (const r of refunds) {
    const mine = events.filter((e) => e.refund_id === r.id);
    const first = mine[0];
    if (!first || first.from_status !== null) {
      out.push(`refund ${r.id}: no creation event`);
      continue;
    }
    if (mine.filter((e) => e.from_status === null).length !== 1)
      out.push(`refund ${r.id}: ${mine.filter((e) => e.from_status === null).length} creation events`);
    for (let i = 1; i < mine.length; i++) {
      if (mine[i]?.from_status !== mine[i - 1]?.to_status)
        out.push(
          `refund ${r.id}: event ${mine[i]?.id} moves from ${mine[i]?.from_status}, not ${mine[i - 1]?.to_status}`,
        );
    }
    if (mine[mine.length - 1]?.to_status !== r.status)
      out.push(`refund ${r.id}: status ${r.status} but last event says ${mine[mine.length - 1]?.to_status}`);
    // 4. Approved once ⇔ handed to the outbox (written in the same transaction). Its other rows
    // (the consumer's status messages, from the submission on) are not the submission.
    const wasApproved = mine.some((e) => e.to_status === 'approved');
    const queued = outbox.filter((o) => o.ref_id === r.id && o.kind === 'refund.submit').length;
    if (wasApproved && queued === 0) out.push(`refund ${r.id}: approved (now ${r.status}) but no outbox row`);
    if (!wasApproved && queued > 0) out.push(`refund ${r.id}: outbox row but never approved`);
    // 5. Audit entries written with the refund and with its result.
    const created = audit.filter((a) => a.action === 'refund.created' && a.entity_id === r.id).length;
    if (created !== 1) out.push(`refund ${r.id}: ${created} refund.created audit entries`);
    if (
      (r.status === 'succeeded' || r.status === 'failed') &&
      !audit.some((a) => a.action === `refund.${r.status}` && a.entity_id === r.id)
    )
      out.push(`refund ${r.id}: ${r.status} without its audit entry`);
  }
  for (const e of events)
    if (!refundById.has(e.refund_id)) out.push(`event ${e.id}: refund ${e.refund_id} missing`);
  const operationIds = new Set((await db.selectFrom('operations').select('id').execute()).map((o) => o.id));
  for (const o of outbox) {
    if (o.kind === 'operation.recover') {
      if (!operationIds.has(o.ref_id)) out.push(`outbox ${o.id}: operation ${o.ref_id} missing`);
    } else if (o.kind === 'refund.submit' && !refundById.has(o.ref_id)) {
      out.push(`outbox ${o.id}: refund ${o.ref_id} missing`);
    }
  }

  // 6. The audit hash chain.
  const verification = await verifyAudit(store);
  if (!verification.ok) out.push(`audit chain broken at seq ${verification.firstBrokenSeq}`);

  // 7. Idempotency keys: only finished answers are ever committed.
  // A key with status 0 is a claim of a request still running (or killed: it goes stale); the
  // answer is committed in the same transaction as the request's last write, never apart.
  for (const k of keys) {
    if ((k.status_code === 0) !== (k.response_json === null))
      out.push(`idempotency key ${k.key}: status ${k.status_code} with response ${k.response_json}`);
  }
  if (opts.createKeyPrefix) {
    const prefix = opts.createKeyPrefix;
    const byRefund = new Map<string, number>();
    for (const k of keys) {
      if (!k.key.startsWith(prefix) || k.status_code === 0) continue;
      const id = (JSON.parse(k.response_json ?? 'null') as { id?: string } | null)?.id;
      if (k.status_code !== 201 || !id) {
        out.push(`idempotency key ${k.key}: stored ${k.status_code} without a refund`);
        continue;
      }
      if (!refundById.has(id)) out.push(`idempotency key ${k.key}: answered ${id}, which does not exist`);
      byRefund.set(id, (byRefund.get(id) ?? 0) + 1);
    }
    for (const r of refunds) {
      const n = byRefund.get(r.id) ?? 0;
      if (n !== 1) out.push(`refund ${r.id}: created under ${n} idempotency keys (want exactly 1)`);
    }
  }

  // 8. Merchant funds: opening + net sales − net refunds still reserved or paid.
  for (const m of merchants) {
    const sales = payments
      .filter((p) => p.merchant_id === m.id && p.voided === 0)
      .reduce((s, p) => s + Number(p.amount_minor) - Number(p.fee_minor), 0);
    const paid = refunds
      .filter((r) => r.merchant_id === m.id && (isInFlight(r.status) || r.status === 'succeeded'))
      .reduce((s, r) => s + Number(r.net_amount_minor), 0);
    const opening = m.id === DEMO.merchantId ? DEMO.openingFundsMinor : 0;
    if (Number(m.available_funds_minor) !== opening + sales - paid)
      out.push(`merchant ${m.id}: available ${m.available_funds_minor} ≠ ${opening} + ${sales} − ${paid}`);
  }

  // 8b. The daily-cap running totals: refunds created that day that still count (not failed/rejected/canceled).
  const counted = new Map<string, number>();
  for (const r of refunds) {
    if (['failed', 'rejected', 'canceled'].includes(r.status)) continue;
    const k = `${r.merchant_id} ${r.created_day}`;
    counted.set(k, (counted.get(k) ?? 0) + Number(r.amount_minor));
  }
  for (const d of dayTotals) {
    const k = `${d.merchant_id} ${d.day}`;
    if (Number(d.amount_minor) !== (counted.get(k) ?? 0))
      out.push(`day total ${k}: ${d.amount_minor} ≠ Σ counting refunds ${counted.get(k) ?? 0}`);
    counted.delete(k);
  }
  for (const [k, v] of counted) if (v !== 0) out.push(`day total ${k}: no row, refunds sum to ${v}`);

  // 9. The acquirer's own books, and no refund the acquirer knows that we do not.
  for (const a of acqAccounts) {
    const mine = acqTx.filter((t) => t.merchant_id === a.merchant_id);
    const sales = mine
      .filter((t) => t.kind === 'sale' && t.status === 'completed')
      .reduce((s, t) => s + Number(t.amount_minor) - Number(t.fee_minor), 0);
    const refunded = mine
      .filter((t) => t.kind === 'refund' && t.status === 'succeeded')
      .reduce((s, t) => s + Number(t.amount_minor), 0);
    const opening = a.merchant_id === DEMO.merchantId ? DEMO.openingFundsMinor : 0;
    if (Number(a.balance_minor) !== opening + sales - refunded)
      out.push(`acquirer account ${a.merchant_id}: ${a.balance_minor} ≠ ${opening} + ${sales} − ${refunded}`);
  }
  for (const t of acqTx.filter((x) => x.kind === 'refund')) {
    const r = refundById.get(t.request_id);
    if (!r) {
      out.push(`acquirer refund ${t.reference}: our refund ${t.request_id} does not exist`);
      continue;
    }
    if (Number(t.amount_minor) !== Number(r.net_amount_minor))
      out.push(`refund ${r.id}: acquirer amount ${t.amount_minor} ≠ net ${r.net_amount_minor}`);
    if (!['approved', 'processing', 'succeeded', 'failed'].includes(r.status))
      out.push(`refund ${r.id}: at the acquirer but ${r.status}`);
  }

  if (opts.settled) {
    for (const r of refunds) {
      if (r.status === 'approved' || r.status === 'processing') out.push(`refund ${r.id}: still ${r.status}`);
    }
    for (const o of outbox)
      if (o.status === 'pending') out.push(`outbox ${o.id} (${o.ref_id}): still pending`);
    // No one-sided effect: our outcome is the acquirer's outcome, for every refund it saw.
    for (const t of acqTx.filter((x) => x.kind === 'refund')) {
      const r = refundById.get(t.request_id);
      if (r && r.status !== t.status)
        out.push(`refund ${r.id}: ours ${r.status}, acquirer ${t.status} (${t.response_code})`);
    }
    for (const r of refunds) {
      const p = payments.find((x) => x.id === r.payment_id);
      const viaNetwork = r.method === 'original' && p?.method !== 'cash' && p?.network_reference;
      const atAcq = acqTx.some((t) => t.kind === 'refund' && t.request_id === r.id);
      if (viaNetwork && (r.status === 'succeeded' || r.status === 'failed') && !atAcq)
        out.push(`refund ${r.id}: ${r.status} by the network but the acquirer never saw it`);
      if (!viaNetwork && atAcq) out.push(`refund ${r.id}: paid locally but also sent to the acquirer`);
    }
  }
  return out;
}
