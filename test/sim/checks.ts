import { DEMO } from '../../src/demo.js';
import { inFlightStatuses, type RefundStatus } from '../../src/domain/refund-state.js';
import type { QrWalletSim } from '../../src/simulator/qr-wallet/wallet-sim.js';
import { verifyAudit } from '../../src/store/audit.js';
import { ledgerViolations } from '../integration/support/ledger.js';
import { call, type TestSystem } from '../support/system.js';

/**
 * What must hold after every simulation run, once the worker has drained and the network has
 * settled. Each check returns readable violations, prefixed with its letter:
 *   (a) store and network books agree to the fen, per payment (sales, voids, refunds)
 *   (b) nothing stuck: no refund approved/processing, no outbox row pending or dead, no operation
 *       reserved or compensating, no card-link attempt unanswered, no wallet refund processing
 *   (c) nothing applied twice at the network: no refund total beyond its sale, no refund or sale
 *       effect the store cannot name, no reference shared by two of ours
 *   (d) the audit hash chain verifies (API and store)
 *   (e) every API answer was documented (checked while running, in run.ts)
 *   (f) every answer is what the books say in the end (a 200 cancel stays canceled, …), and the
 *       store's own invariants (test/integration/support/ledger.ts) hold
 *   (g) QR returns (issue 12): a return is submitted into one refund at most, never after it was
 *       withdrawn or expired; a submitted return and its refund name each other with the same
 *       lines and amount; no line is held beyond what was sold (refunds in flight or succeeded
 *       plus open, unexpired returns)
 */

export interface Claims {
  /** Refunds whose cancel answered 200 `canceled` → the step. */
  canceled: Map<string, number>;
  /** Payments whose void answered 200 `voided`. */
  voided: Map<string, number>;
  refunds: Map<string, { amount: number; paymentId: string; step: number }>;
  payments: Map<string, { amount: number; orderNo: string; step: number }>;
  /** One refund request sent several times under one key: every 201 must name the same refund. */
  sameKey: { step: number; key: string; ids: string[] }[];
  /** QR returns answered 201, by id (none: no QR returns were run). */
  returns?: Map<string, ReturnClaim>;
}

export interface ReturnClaim {
  paymentId: string;
  step: number;
  /** The refunds its submissions answered 201 with. */
  refundIds: string[];
  /** Its withdrawal answered 200 `canceled`. */
  withdrawn: boolean;
  /** The simulation moved its expiry into the past while it was open. */
  expired: boolean;
}

interface Effect {
  reference: string;
  kind: 'sale' | 'refund' | 'qr_sale' | 'qr_refund';
  amount: number;
  merchantId: string;
}

function wallet(sys: TestSystem): QrWalletSim {
  const w = sys.simulator?.wallet as unknown as QrWalletSim | undefined;
  if (!w) throw new Error('the simulation needs NETWORK=sim (card host and wallet)');
  return w;
}

/** What still moves: the drain waits until all of these are zero. */
async function inMotion(sys: TestSystem) {
  const db = sys.ctx.store.db;
  const refunds = await db
    .selectFrom('refunds')
    .select(['id', 'status', 'payment_id'])
    .where('status', 'in', ['approved', 'processing'])
    .execute();
  const outbox = await db
    .selectFrom('outbox')
    .select(['id', 'kind', 'ref_id', 'attempts', 'last_error', 'next_attempt_at'])
    .where('status', '=', 'pending')
    .execute();
  const operations = await db
    .selectFrom('operations')
    .select(['id', 'kind', 'order_no', 'status'])
    .where('status', 'in', ['reserved', 'compensating'])
    .execute();
  const attempts = await db
    .selectFrom('link_attempts')
    .select(['id', 'kind', 'ref_id', 'state'])
    .where('state', 'in', ['sent', 'reversing'])
    .execute();
  const walletRefunds = wallet(sys)
    .ledger.db.prepare("select out_request_no, status from qr_refunds where status = 'PROCESSING'")
    .all() as { out_request_no: string; status: string }[];
  return { refunds, outbox, operations, attempts, walletRefunds };
}

export async function drain(sys: TestSystem, timeoutMs: number): Promise<{ ok: boolean; ms: number }> {
  const start = Date.now();
  for (;;) {
    const m = await inMotion(sys);
    const n =
      m.refunds.length + m.outbox.length + m.operations.length + m.attempts.length + m.walletRefunds.length;
    if (n === 0) return { ok: true, ms: Date.now() - start };
    if (Date.now() - start > timeoutMs) return { ok: false, ms: Date.now() - start };
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function checkAll(input: {
  sys: TestSystem;
  control: string;
  claims: Claims;
  audit: () => Promise<{ status: number; body: { ok?: boolean; entries?: number } }>;
}): Promise<string[]> {
  const { sys, control, claims } = input;
  const out: string[] = [];
  const db = sys.ctx.store.db;

  // (b) nothing stuck.
  const m = await inMotion(sys);
  for (const r of m.refunds)
    out.push(`(b) refund ${r.id} of ${r.payment_id} still ${r.status} after draining`);
  for (const o of m.outbox)
    out.push(
      `(b) outbox ${o.id} ${o.kind} ${o.ref_id} still pending (attempts ${o.attempts}, next ${o.next_attempt_at}, last error ${o.last_error})`,
    );
  for (const o of m.operations)
    out.push(`(b) operation ${o.id} ${o.kind} of ${o.order_no} still ${o.status}`);
  for (const a of m.attempts)
    out.push(`(b) card-link attempt ${a.id} ${a.kind} ${a.ref_id} still ${a.state}`);
  for (const w of m.walletRefunds) out.push(`(b) wallet refund ${w.out_request_no} still ${w.status}`);
  const dead = await db
    .selectFrom('outbox')
    .select(['id', 'kind', 'ref_id', 'last_error'])
    .where('status', '=', 'dead')
    .execute();
  for (const o of dead) out.push(`(b) outbox ${o.id} ${o.kind} ${o.ref_id} dead: ${o.last_error}`);

  // The two sets of books.
  const payments = await db.selectFrom('payments').selectAll().execute();
  const refunds = await db.selectFrom('refunds').selectAll().execute();
  const ledger = await call(control, 'GET', `/ledger?merchantId=${DEMO.merchantId}`);
  if (ledger.status !== 200) return [...out, `(a) GET /ledger → ${ledger.status}`];
  const effects = (ledger.body.effects as Effect[]).filter((e) => e.merchantId === DEMO.merchantId);
  const cardTxns = sys.simulator?.ledger.db
    .prepare("select rrn, kind, original_rrn, status, amount_minor from txns where kind = 'refund'")
    .all() as {
    rrn: string;
    kind: string;
    original_rrn: string | null;
    status: string;
    amount_minor: number;
  }[];
  const cardRefundSale = new Map(cardTxns.map((t) => [t.rrn, t.original_rrn]));
  const walletRefundTrade = new Map(
    (
      wallet(sys)
        .ledger.db.prepare("select out_request_no, trade_no from qr_refunds where status = 'SUCCESS'")
        .all() as { out_request_no: string; trade_no: string }[]
    ).map((r) => [r.out_request_no, r.trade_no]),
  );

  const paymentByRef = new Map<string, (typeof payments)[number]>();
  for (const p of payments) {
    if (!p.network_reference) continue;
    const other = paymentByRef.get(p.network_reference);
    if (other)
      out.push(`(c) payments ${other.id} and ${p.id} share the network reference ${p.network_reference}`);
    paymentByRef.set(p.network_reference, p);
  }
  const viaNetwork = (r: (typeof refunds)[number]) => {
    const p = payments.find((x) => x.id === r.payment_id);
    return r.method === 'original' && p !== undefined && p.method !== 'cash' && p.network_reference !== null;
  };
  /** The effect of one of our refunds: card effects carry the host's RRN, wallet effects our refund id. */
  const refundEffectKey = (r: (typeof refunds)[number]) => {
    const p = payments.find((x) => x.id === r.payment_id);
    return p?.method === 'qr' ? `qr_refund ${r.id}` : `refund ${r.network_reference}`;
  };

  // (a)+(c) sales: every payment of ours stands at the network exactly once unless voided, and the
  // network holds no sale we do not have.
  const saleEffects = new Map<string, Effect[]>();
  const refundEffects = new Map<string, Effect[]>();
  for (const e of effects) {
    const key = `${e.kind} ${e.reference}`;
    const bucket = e.kind === 'sale' || e.kind === 'qr_sale' ? saleEffects : refundEffects;
    bucket.set(key, [...(bucket.get(key) ?? []), e]);
  }
  for (const p of payments) {
    if (p.method === 'cash') continue;
    if (!p.network_reference) {
      out.push(`(a) payment ${p.id} (${p.method}, ${p.order_no}) has no network reference`);
      continue;
    }
    const key = `${p.method === 'qr' ? 'qr_sale' : 'sale'} ${p.network_reference}`;
    const standing = saleEffects.get(key) ?? [];
    if (p.voided === 1 && standing.length > 0)
      out.push(
        `(a) payment ${p.id} (${p.method} ${p.amount_minor}, ${p.order_no}) is voided here but its sale stands at the network`,
      );
    if (p.voided === 0 && standing.length !== 1)
      out.push(
        `(a) payment ${p.id} (${p.method} ${p.amount_minor}, ${p.order_no}, ${p.kind}) is captured here but has ${standing.length} standing sales at the network (voided or reversed there)`,
      );
    for (const e of standing)
      if (e.amount !== Number(p.amount_minor))
        out.push(`(a) payment ${p.id}: ${p.amount_minor} here, ${e.amount} at the network`);
  }
  for (const [key, list] of saleEffects) {
    const ref = key.split(' ')[1] ?? '';
    const p = paymentByRef.get(ref);
    if (list.length > 1) out.push(`(c) sale ${key} stands ${list.length} times at the network`);
    if (!p)
      out.push(
        `(a) the network holds a ${list[0]?.kind} of ${list[0]?.amount} (${ref}) that no payment here knows: charged at the network, refused or lost here`,
      );
  }

  // (a)+(c) refunds: each refund succeeded by the network stands there exactly once, with its net
  // amount; nothing else stands there.
  const refundByEffect = new Map<string, (typeof refunds)[number]>();
  for (const r of refunds) {
    if (!viaNetwork(r)) continue;
    if (r.network_reference === null && r.status === 'succeeded')
      out.push(`(a) refund ${r.id} succeeded without a network reference`);
    const key = refundEffectKey(r);
    if (r.network_reference !== null || key.startsWith('qr_refund')) {
      const other = refundByEffect.get(key);
      if (other && other.id !== r.id) out.push(`(c) refunds ${other.id} and ${r.id} share ${key}`);
      refundByEffect.set(key, r);
    }
    const standing = refundEffects.get(key) ?? [];
    if (r.status === 'succeeded' && standing.length !== 1)
      out.push(
        `(a) refund ${r.id} (${r.net_amount_minor}) succeeded here but stands ${standing.length} times at the network`,
      );
    if (r.status !== 'succeeded' && standing.length > 0)
      out.push(
        `(a) refund ${r.id} (${r.net_amount_minor} of ${r.payment_id}) is ${r.status} here but the network paid it ${standing.map((e) => e.amount).join('+')}`,
      );
    for (const e of standing)
      if (e.amount !== Number(r.net_amount_minor))
        out.push(`(a) refund ${r.id}: net ${r.net_amount_minor} here, ${e.amount} at the network`);
  }
  for (const [key, list] of refundEffects) {
    if (list.length > 1) out.push(`(c) refund ${key} stands ${list.length} times at the network`);
    if (!refundByEffect.has(key))
      out.push(`(c) the network paid a refund of ${list[0]?.amount} (${key}) that no refund here names`);
  }
  for (const r of refunds)
    if (!viaNetwork(r) && refundEffects.has(refundEffectKey(r)))
      out.push(`(c) refund ${r.id} was paid locally (${r.method}) and also by the network`);

  // (a)+(c) per payment: what the network paid back on a sale = Σ net of our succeeded refunds ≤ the sale.
  const networkRefunded = new Map<string, number>();
  for (const [key, list] of refundEffects) {
    const [kind, ref = ''] = key.split(' ');
    const saleRef = kind === 'qr_refund' ? walletRefundTrade.get(ref) : cardRefundSale.get(ref);
    if (!saleRef) {
      out.push(`(c) network refund ${key} names no sale`);
      continue;
    }
    for (const e of list) networkRefunded.set(saleRef, (networkRefunded.get(saleRef) ?? 0) + e.amount);
  }
  for (const p of payments) {
    if (p.method === 'cash' || !p.network_reference) continue;
    const atNetwork = networkRefunded.get(p.network_reference) ?? 0;
    const ours = refunds
      .filter((r) => r.payment_id === p.id && r.status === 'succeeded' && viaNetwork(r))
      .reduce((s, r) => s + Number(r.net_amount_minor), 0);
    if (atNetwork !== ours)
      out.push(
        `(a) payment ${p.id} (${p.method} ${p.amount_minor}): network refunded ${atNetwork}, store says ${ours}`,
      );
    if (atNetwork > Number(p.amount_minor))
      out.push(`(c) payment ${p.id}: the network refunded ${atNetwork} on a sale of ${p.amount_minor}`);
    if (p.voided === 1 && atNetwork > 0)
      out.push(`(c) payment ${p.id} is voided yet the network refunded ${atNetwork}`);
  }

  // (b) the wallet's and the card host's own books.
  for (const v of wallet(sys).ledger.audit()) out.push(`(b) wallet books: ${v}`);

  // (d) the audit chain, through the API and straight from the store.
  const verified = await input.audit();
  if (verified.status !== 200 || verified.body?.ok !== true)
    out.push(`(d) GET /v1/audit/verify → ${verified.status} ${JSON.stringify(verified.body)}`);
  const direct = await verifyAudit(sys.ctx.store);
  if (!direct.ok) out.push(`(d) audit chain broken: ${JSON.stringify(direct)}`);

  // (f) answers against the final books.
  for (const [id, step] of claims.canceled) {
    const r = refunds.find((x) => x.id === id);
    if (r?.status !== 'canceled')
      out.push(`(f) #${step} cancel of ${id} answered 200 canceled; it is ${r?.status} now`);
  }
  for (const [id, step] of claims.voided) {
    const p = payments.find((x) => x.id === id);
    if (p?.voided !== 1)
      out.push(`(f) #${step} void of ${id} answered 200 voided; the payment is not voided`);
  }
  for (const [id, c] of claims.refunds) {
    const r = refunds.find((x) => x.id === id);
    if (!r) out.push(`(f) #${c.step} refund ${id} answered 201 but does not exist`);
    else if (Number(r.amount_minor) !== c.amount || r.payment_id !== c.paymentId)
      out.push(
        `(f) #${c.step} refund ${id} answered ${c.amount} of ${c.paymentId}, stored ${r.amount_minor} of ${r.payment_id}`,
      );
  }
  for (const [id, c] of claims.payments) {
    const p = payments.find((x) => x.id === id);
    if (!p) out.push(`(f) #${c.step} payment ${id} answered 201 but does not exist`);
    else if (Number(p.amount_minor) !== c.amount || p.order_no !== c.orderNo)
      out.push(`(f) #${c.step} payment ${id} answered ${c.amount}, stored ${p.amount_minor}`);
  }
  for (const g of claims.sameKey)
    if (new Set(g.ids).size > 1)
      out.push(
        `(f) #${g.step} one Idempotency-Key ${g.key} created refunds ${[...new Set(g.ids)].join(', ')}`,
      );
  const salesPerOrder = new Map<string, number>();
  for (const p of payments)
    if (p.kind === 'sale') salesPerOrder.set(p.order_no, (salesPerOrder.get(p.order_no) ?? 0) + 1);
  for (const [orderNo, n] of salesPerOrder) if (n > 1) out.push(`(f) order ${orderNo} has ${n} sales`);

  // (f) the store's own invariants (its `settled` option judges the in-process acquirer, not the simulators).
  for (const v of await ledgerViolations(sys.ctx.store)) out.push(`(f) store: ${v}`);
  out.push(...(await returnViolations(sys, claims, refunds)));
  return out;
}

/** (g) QR returns against their claims and their refunds, and the lines they hold. */
async function returnViolations(
  sys: TestSystem,
  claims: Claims,
  refunds: {
    id: string;
    status: string;
    payment_id: string;
    amount_minor: number | string;
    items_json: string;
    return_id?: string | null;
  }[],
): Promise<string[]> {
  const out: string[] = [];
  const db = sys.ctx.store.db;
  const returns = await db.selectFrom('returns').selectAll().execute();
  for (const [id, c] of claims.returns ?? []) {
    const row = returns.find((x) => x.id === id);
    const ids = [...new Set(c.refundIds)];
    if (!row) {
      out.push(`(g) #${c.step} return ${id} answered 201 but does not exist`);
      continue;
    }
    if (ids.length > 1)
      out.push(`(g) #${c.step} return ${id} was submitted into ${ids.length} refunds: ${ids.join(', ')}`);
    if (ids.length === 1 && (row.status !== 'submitted' || row.refund_id !== ids[0]))
      out.push(
        `(g) #${c.step} return ${id} answered 201 ${ids[0]}; it is ${row.status} with refund ${row.refund_id}`,
      );
    if (c.withdrawn && ids.length > 0)
      out.push(`(g) #${c.step} return ${id} was withdrawn (200) and submitted (201 ${ids[0]})`);
    if (c.withdrawn && row.status !== 'canceled')
      out.push(`(g) #${c.step} return ${id} was withdrawn (200); it is ${row.status}`);
    if (c.expired && ids.length > 0)
      out.push(`(g) #${c.step} return ${id} was submitted (201 ${ids[0]}) after it expired`);
  }
  const lines = (json: string) =>
    (JSON.parse(json) as { sku: string; qty: number }[])
      .map((l) => `${l.sku}×${l.qty}`)
      .sort()
      .join(',');
  for (const row of returns) {
    const naming = refunds.filter((r) => r.return_id === row.id);
    if (naming.length > 1) out.push(`(g) return ${row.id} has ${naming.length} refunds`);
    if (row.status !== 'submitted') {
      if (naming.length > 0)
        out.push(`(g) return ${row.id} is ${row.status} yet refund ${naming[0]?.id} names it`);
      continue;
    }
    const r = refunds.find((x) => x.id === row.refund_id);
    if (!r || r.return_id !== row.id) {
      out.push(`(g) return ${row.id} is submitted but its refund ${row.refund_id} does not name it`);
      continue;
    }
    if (Number(r.amount_minor) !== Number(row.amount_minor) || r.payment_id !== row.payment_id)
      out.push(`(g) return ${row.id} of ${row.amount_minor} became refund ${r.id} of ${r.amount_minor}`);
    if (lines(r.items_json) !== lines(row.items_json))
      out.push(
        `(g) return ${row.id} (${lines(row.items_json)}) became refund ${r.id} of ${lines(r.items_json)}`,
      );
  }
  // Units held per line: refunds in flight or succeeded, and returns still open and unexpired.
  const now = new Date().toISOString();
  const held = new Map<string, number>();
  const hold = (paymentId: string, json: string) => {
    for (const l of JSON.parse(json) as { sku: string; qty: number }[])
      held.set(`${paymentId} ${l.sku}`, (held.get(`${paymentId} ${l.sku}`) ?? 0) + l.qty);
  };
  for (const r of refunds)
    if (r.status === 'succeeded' || inFlightStatuses.includes(r.status as RefundStatus))
      hold(r.payment_id, r.items_json);
  for (const row of returns)
    if (row.status === 'open' && row.expires_at > now) hold(row.payment_id, row.items_json);
  const items = await db.selectFrom('payment_items').select(['payment_id', 'sku', 'qty']).execute();
  for (const it of items) {
    const units = held.get(`${it.payment_id} ${it.sku}`) ?? 0;
    if (units > Number(it.qty))
      out.push(
        `(g) payment ${it.payment_id} sku ${it.sku}: ${units} units held by refunds and open returns of ${it.qty} sold`,
      );
  }
  return out;
}
