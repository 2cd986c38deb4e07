import { requirePermission } from '../domain/auth.js';
import { shanghaiDate } from '../domain/calendar.js';
import { DomainError, invariant } from '../domain/errors.js';
import type { PaymentState } from '../domain/payment.js';
import { type Policy, type ReasonCode, type RefundMethod, requiredApprovals } from '../domain/policy.js';
import { decideApproval, decideRefund, type Reason, type VerifiedApproval } from '../domain/refund.js';
import { isInFlight, type RefundStatus, refundStatuses, totalsDelta } from '../domain/refund-state.js';
import type { ConsumerLang } from '../domain/returns.js';
import {
  checkReviewChecklist,
  type ReviewChecklist,
  reviewChecklistRequired,
  storedChecklist,
} from '../domain/review.js';
import type { Hold } from '../domain/risk.js';
import { ulid } from '../ids.js';
import { trackingToken } from '../links.js';
import { type AuditEntry, appendAudit } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import { insertRefunds, moveRefund, updateRefund } from '../store/ledger.js';
import { lockPaymentsForRefunds } from '../store/operations.js';
import {
  enqueueOutbox,
  loadRefundRow,
  lockMerchant,
  lockMerchantWithDayTotal,
  lockRefund,
  merchantDayTotal,
  type PaymentRow,
  paymentStates,
  policyOf,
  type RefundRow,
  refundCreatedAs,
} from '../store/repo.js';
import { holdReturns, openReturnHolds, requireInspection } from '../store/returns.js';
import { type ConsumerInput, consumerColumns } from './consumer.js';
import type { Caller, Ctx } from './context.js';
import { RiskTally } from './risk.js';
import {
  afterCursor,
  decodeCursor,
  inListOrder,
  type ListOrder,
  page,
  type RefundView,
  refundView,
} from './views.js';

export interface RefundInput {
  paymentId?: string | undefined;
  orderNo?: string | undefined;
  amount?: number | undefined;
  items?: { sku: string; qty: number }[] | undefined;
  reason: { code: ReasonCode; note?: string | undefined };
  method?: RefundMethod | undefined;
  consumer?: ConsumerInput | undefined;
  /**
   * The refund a consumer submitted on a return QR's page (service/returns.ts): it waits for the
   * merchant's inspection (`requested`), and its consumer is told of each step in `lang`.
   */
  viaReturn?: { returnId: string; lang: ConsumerLang } | undefined;
}

export const SUBMIT_KIND = 'refund.submit';

/** One request to create a refund, as `createRefunds` takes several. */
export interface RefundCreation {
  caller: Caller;
  input: RefundInput;
  approvals: VerifiedApproval[];
}

export type CreationOutcome = { ok: true; value: RefundAnswer } | { ok: false; error: unknown };
export type RefundAnswer = ReturnType<typeof withNextStep>;

/**
 * Create a refund: one transaction that locks the merchant and the payment, decides, and writes
 * the refund, the running totals, the history, the audit entry and (when approved) the outbox row.
 * Any error rolls all of it back.
 */
export async function createRefund(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  input: RefundInput,
  approvals: VerifiedApproval[],
): Promise<RefundAnswer> {
  const [outcome] = await createRefunds(ctx, trx, caller.merchantId, [{ caller, input, approvals }]);
  if (!outcome) throw new Error('createRefunds lost its one outcome');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A payment as the refunds of one transaction see it: locked, and moved by each refund decided on it. */
interface ScenePayment {
  row: PaymentRow;
  state: PaymentState;
  voidInProgress: boolean;
}

/**
 * Create refunds of one merchant in one transaction (group commit: concurrent requests decided
 * together). The merchant and every payment named are locked and read once; the refunds are
 * decided one after another, each against the payments, funds and day total the ones before it
 * left — exactly what as many `createRefund` transactions in a row would see — and a refused one
 * leaves no trace. The accepted ones are then written together (`insertRefunds`). A database
 * error fails them all (the caller falls back to one transaction each).
 */
export async function createRefunds(
  ctx: Ctx,
  trx: Tx,
  merchantId: string,
  requests: RefundCreation[],
): Promise<CreationOutcome[]> {
  const outcomes: (CreationOutcome | null)[] = requests.map(({ caller, input }) => {
    try {
      invariant(caller.merchantId === merchantId, 'refunds are created for one merchant at a time');
      requirePermission(caller.principal, 'refund.create');
      if (!input.paymentId && !input.orderNo)
        throw new DomainError('validation_failed', 'paymentId or orderNo is required');
      return null;
    } catch (error) {
      return { ok: false, error };
    }
  });
  const pending = requests.filter((_, i) => outcomes[i] === null);
  if (pending.length === 0) return outcomes as CreationOutcome[];

  // Today's total comes with the merchant's lock; a refund decided past midnight reads its own day.
  const openedAt = ctx.clock();
  const day = shanghaiDate(openedAt);
  const { merchant, dayTotalMinor } = await lockMerchantWithDayTotal(trx, merchantId, day);
  const policy = policyOf(merchant);
  const scene = await readScene(
    trx,
    merchantId,
    pending.map((r) => r.input),
    openedAt,
  );
  // The risk rules count under the same lock, moved by each refund decided here (service/risk.ts).
  const risk = await RiskTally.open(trx, merchantId, policy.riskRules, {
    callers: pending.map((r) => r.caller),
    payments: [...scene.byId.values()].map((p) => p.row),
    openedAt,
  });
  let available = Number(merchant.available_funds_minor);
  const dayTotals = new Map<string, number>([[day, dayTotalMinor]]);
  const rows: RefundRow[] = [];
  const audits: AuditEntry[] = [];
  const submits: { refundId: string; at: Date }[] = [];

  for (const [i, { caller, input, approvals }] of requests.entries()) {
    if (outcomes[i] !== null) continue;
    try {
      const found = findPayment(scene, input);
      const paymentRow = found.row;
      if (input.paymentId && input.orderNo && paymentRow.order_no !== input.orderNo) {
        throw new DomainError(
          'conflicting_references',
          `payment ${paymentRow.id} belongs to order ${paymentRow.order_no}, not ${input.orderNo}; send one of them`,
        );
      }
      if (found.voidInProgress) {
        throw new DomainError(
          'operation_in_progress',
          'the payment cannot be refunded now: a void of this order is in progress at the network; wait for it to finish and try again',
          { operation: 'void' },
        );
      }
      const payment = found.state;
      const now = ctx.clock();
      const today = shanghaiDate(now);
      if (!dayTotals.has(today)) dayTotals.set(today, await merchantDayTotal(trx, merchantId, today));
      const reason: Reason = { code: input.reason.code, note: input.reason.note?.trim() || undefined };
      const method = input.method ?? 'original';
      const decision = decideRefund(
        {
          payment,
          policy,
          now,
          calendar: ctx.calendar,
          merchantTodayMinor: dayTotals.get(today) ?? 0,
          merchantAvailableMinor: available,
          approvals,
        },
        { amountMinor: input.amount, items: input.items, reason, method },
      );
      const subject = { caller, payment: paymentRow, now, day: today };
      const hold = await risk.holdFor(trx, { ...subject, amountMinor: decision.amountMinor });
      // Held, or a consumer's return: to the review queue, whatever approvals came (kept on it).
      const status = hold || input.viaReturn ? 'requested' : decision.status;
      const id = `re_${ulid()}`;
      const tracking = trackingToken(ctx.secrets, id);
      const iso = now.toISOString();
      const row: RefundRow = {
        id,
        merchant_id: merchantId,
        payment_id: payment.id,
        order_no: payment.orderNo,
        terminal_id: caller.terminalId,
        amount_minor: decision.amountMinor,
        fee_minor: decision.feeMinor,
        net_amount_minor: decision.netAmountMinor,
        merchant_fee_returned_minor: decision.merchantFeeReturnedMinor,
        currency: payment.currency,
        reason_code: reason.code,
        reason_note: reason.note ?? null,
        method,
        status,
        items_json: JSON.stringify(decision.items),
        approvals_json: JSON.stringify(
          approvals.map((a) => ({ operatorNo: a.operatorNo, at: a.at.toISOString() })),
        ),
        // Checked (bank details typed twice), sealed, masked and phone-hashed; confirmations dropped.
        ...consumerColumns(ctx.secrets, method, input.consumer),
        delayed: 0,
        expected_arrival: decision.expectedArrival,
        network_reference: null,
        response_code: null,
        created_by: caller.actor,
        settlement_id: null,
        created_day: today,
        created_at: iso,
        updated_at: iso,
        handed_off_at: null,
        hold_rule: hold?.rule ?? null,
        hold_detail: hold?.detail ?? null,
        return_id: input.viaReturn?.returnId ?? null,
        notify_lang: input.viaReturn && input.consumer ? input.viaReturn.lang : null,
        tracking_hash: tracking.hash,
        tracking_key: tracking.keyId,
      };
      await risk.record(trx, subject);
      // The reservation, as the next refund of this transaction must see it (the ledger writes
      // the same sums: `insertRefunds`).
      const delta = totalsDelta(null, status, decision.amountMinor);
      payment.inFlightMinor += delta.inFlightMinor;
      payment.refundedMinor += delta.refundedMinor;
      if (isInFlight(status)) {
        for (const item of decision.items) {
          const line = payment.items.find((l) => l.sku === item.sku);
          if (line) line.refundedQty += item.qty;
        }
        available -= decision.netAmountMinor;
        dayTotals.set(today, (dayTotals.get(today) ?? 0) + decision.amountMinor);
      }
      rows.push(row);
      if (status === 'approved') submits.push({ refundId: id, at: now });
      audits.push({
        merchantId,
        actor: caller.actor,
        action: 'refund.created',
        entity: 'refund',
        entityId: id,
        data: {
          paymentId: payment.id,
          amount: decision.amountMinor,
          fee: decision.feeMinor,
          status,
          reason: reason.code,
          method,
          approvedBy: approvals.map((a) => a.operatorNo),
          ...(hold ? { hold } : {}),
        },
        at: now,
      });
      // The row as inserted is the refund as stored: no column is filled in by the database.
      outcomes[i] = { ok: true, value: withNextStep(policy, refundView(row)) };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      outcomes[i] = { ok: false, error };
    }
  }
  await insertRefunds(trx, rows);
  for (const s of submits) {
    await enqueueOutbox(trx, {
      id: `ob_${ulid()}`,
      kind: SUBMIT_KIND,
      refId: s.refundId,
      payload: {},
      at: s.at,
    });
  }
  for (const a of audits) await appendAudit(trx, a);
  return outcomes as CreationOutcome[];
}

/**
 * The payments the requests name, locked, with their lines and whether a void of each is in flight;
 * what open return QRs hold of them counts as in flight (store/returns.ts).
 */
async function readScene(trx: Tx, merchantId: string, inputs: RefundInput[], now: Date) {
  const ids = [...new Set(inputs.flatMap((i) => (i.paymentId ? [i.paymentId] : [])))];
  const orderNos = [...new Set(inputs.flatMap((i) => (!i.paymentId && i.orderNo ? [i.orderNo] : [])))];
  const locked = await lockPaymentsForRefunds(trx, merchantId, { ids, saleOrderNos: orderNos });
  const rows = locked.map((l) => l.row);
  const holds = await openReturnHolds(
    trx,
    merchantId,
    rows.map((r) => r.id),
    now,
  );
  const states = (await paymentStates(trx, rows)).map((s) => holdReturns(s, holds.get(s.id)));
  const byId = new Map<string, ScenePayment>();
  const bySaleOrder = new Map<string, ScenePayment>();
  rows.forEach((row, i) => {
    const state = states[i];
    invariant(state, 'one state per payment row');
    const p = { row, state, voidInProgress: locked[i]?.voidInProgress === true };
    byId.set(row.id, p);
    if (row.kind === 'sale' && !bySaleOrder.has(row.order_no)) bySaleOrder.set(row.order_no, p);
  });
  return { byId, bySaleOrder };
}

function findPayment(scene: Awaited<ReturnType<typeof readScene>>, input: RefundInput): ScenePayment {
  const found = input.paymentId
    ? scene.byId.get(input.paymentId)
    : scene.bySaleOrder.get(input.orderNo ?? '');
  if (!found) {
    throw new DomainError(
      'not_found',
      input.paymentId ? `payment ${input.paymentId} not found` : `order ${input.orderNo} not found`,
    );
  }
  return found;
}

/**
 * A refund waiting for approvals says so in its answer: how many are needed, how many it has,
 * and what to do — never a silent `under_review` that merely reserves the money.
 */
function withNextStep(policy: Policy, view: RefundView) {
  if (view.status !== 'requested' && view.status !== 'under_review') return view;
  const required = requiredApprovals(policy, view.amount);
  const given = view.approvals.length;
  if (view.hold) return { ...view, nextStep: heldStep(view, view.hold, Math.max(required, given + 1)) };
  const second = given > 0;
  return {
    ...view,
    nextStep: {
      code: second ? ('second_approval_required' as const) : ('approval_required' as const),
      approvalsRequired: required,
      approvalsGiven: given,
      detail: second
        ? `refunds of ${policy.largeRefundThreshold} or more need two supervisors: a different supervisor approves with POST /v1/refunds/${view.id}/approve (operator number and refund password). If the shop has only one supervisor, an admin adds a second one first.`
        : `a supervisor approves with POST /v1/refunds/${view.id}/approve (operator number and refund password)`,
    },
  };
}

/**
 * A held refund waits for the review queue: accepted (受理), then approved with the checklist by
 * a supervisor other than the counter's approvers (their approvals are kept and count).
 */
function heldStep(view: RefundView, hold: Hold, required: number) {
  return {
    code: 'review_required' as const,
    approvalsRequired: required,
    approvalsGiven: view.approvals.length,
    detail:
      `held for review (${hold.rule}): ${hold.detail}. A supervisor accepts it with POST /v1/refunds/${view.id}/accept, ` +
      `checks the voucher, the amount and the goods, and approves it with POST /v1/refunds/${view.id}/approve ` +
      '(approvals and the review checklist); a supervisor who approved it at the counter cannot approve it again.',
  };
}

/** Supervisors approve a waiting refund; once the policy's approvals are met it goes to the network. */
export async function approveRefund(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  id: string,
  approvals: VerifiedApproval[],
  checklist?: ReviewChecklist | undefined,
) {
  requirePermission(caller.principal, 'refund.read');
  const existing = await loadRefundRow(trx, caller.merchantId, id, false);
  const merchant = await lockMerchant(trx, caller.merchantId);
  const refund = await loadRefundRow(trx, caller.merchantId, existing.id, true);
  await requireInspection(trx, caller.merchantId, refund);
  const prior = JSON.parse(refund.approvals_json) as { operatorNo: string; at: string }[];
  const { status } = decideApproval(
    policyOf(merchant),
    { status: refund.status, amountMinor: Number(refund.amount_minor), approvals: prior },
    approvals,
  );
  // A held refund, or one accepted from the queue, is released by a review: no checklist, no move.
  // Risk rules are not applied again: the review is what they asked for.
  const held = Boolean(refund.hold_rule);
  const inReview = reviewChecklistRequired({
    status: refund.status,
    held,
    createdAs:
      held || refund.status !== 'under_review'
        ? refund.status
        : await refundCreatedAs(trx, caller.merchantId, id),
  });
  checkReviewChecklist(inReview, checklist);
  const review = checklist ? storedChecklist(checklist) : undefined;
  const now = ctx.clock();
  const all = [
    ...prior,
    ...approvals.map((a) => ({
      operatorNo: a.operatorNo,
      at: a.at.toISOString(),
      ...(review ? { checklist: review } : {}),
    })),
  ];
  const set = { approvals_json: JSON.stringify(all) };
  const move = { merchantId: caller.merchantId, actor: caller.actor, at: now };
  if (refund.status === 'requested' && status === 'approved') {
    await moveRefund(trx, id, 'under_review', { ...move, note: 'accepted' });
  }
  if (status !== refund.status) {
    await moveRefund(trx, id, status, { ...move, set, checklist: review });
  } else {
    await updateRefund(trx, caller.merchantId, id, set, now);
  }
  if (status === 'approved') {
    await enqueueOutbox(trx, { id: `ob_${ulid()}`, kind: SUBMIT_KIND, refId: id, payload: {}, at: now });
  }
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'refund.approved',
    entity: 'refund',
    entityId: id,
    data: {
      approvedBy: approvals.map((a) => a.operatorNo),
      status,
      ...(review ? { checklist: review } : {}),
    },
    at: now,
  });
  return withNextStep(policyOf(merchant), refundView(await loadRefundRow(trx, caller.merchantId, id, false)));
}

/** Review queue moves: accept (受理), reject with a reason, or cancel before the network has it. */
export async function reviewRefund(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  id: string,
  to: Extract<RefundStatus, 'under_review' | 'rejected' | 'canceled'>,
  note: string | undefined,
) {
  requirePermission(caller.principal, to === 'canceled' ? 'refund.create' : 'refund.review');
  if (to === 'rejected' && !note?.trim())
    throw new DomainError('reason_required', 'say why the refund is rejected');
  await loadRefundRow(trx, caller.merchantId, id, false);
  const locked = await lockRefund(trx, caller.merchantId, id);
  if (to === 'under_review' && locked) await requireInspection(trx, caller.merchantId, locked);
  if (to === 'canceled' && locked?.handed_off_at) {
    // The worker handed it to the network under this same lock: the money may already be moving.
    throw new DomainError(
      'refund_at_network',
      'this refund was already sent to the payment network and can no longer be canceled; wait for its result (a failed refund releases the amount by itself)',
      { handedOffAt: locked.handed_off_at },
    );
  }
  const now = ctx.clock();
  await moveRefund(trx, id, to, { merchantId: caller.merchantId, actor: caller.actor, at: now, note });
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: `refund.${to}`,
    entity: 'refund',
    entityId: id,
    data: { note: note ?? null },
    at: now,
  });
  return refundView(await loadRefundRow(trx, caller.merchantId, id, false));
}

export async function getRefund(ctx: Ctx, caller: Caller, id: string) {
  requirePermission(caller.principal, 'refund.read');
  return refundView(await loadRefundRow(ctx.store.db, caller.merchantId, id, false));
}

export async function refundHistory(ctx: Ctx, caller: Caller, id: string) {
  requirePermission(caller.principal, 'refund.read');
  await loadRefundRow(ctx.store.db, caller.merchantId, id, false);
  const rows = await ctx.store.db
    .selectFrom('refund_events')
    .selectAll()
    .where('merchant_id', '=', caller.merchantId)
    .where('refund_id', '=', id)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    from: r.from_status,
    to: r.to_status,
    actor: r.actor,
    note: r.note,
    at: r.at,
    checklist: r.checklist_json ? (JSON.parse(r.checklist_json) as ReviewChecklist) : null,
  }));
}

export interface RefundFilter {
  /** One status, or several (the review queue: requested and under_review). */
  status?: RefundStatus | readonly RefundStatus[] | undefined;
  paymentId?: string | undefined;
  orderNo?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** Newest first unless `oldest` (the review queue, oldest waiting first). */
  order?: ListOrder | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** `?status=requested,under_review` as statuses (the query schema has checked each name). */
export function refundStatusList(text: string | undefined): RefundStatus[] | undefined {
  if (text === undefined) return undefined;
  const known = new Set<string>(refundStatuses);
  return text.split(',').filter((s): s is RefundStatus => known.has(s));
}

export async function listRefunds(ctx: Ctx, caller: Caller, f: RefundFilter) {
  requirePermission(caller.principal, 'refund.read');
  const order = f.order ?? 'newest';
  const statuses =
    f.status === undefined ? [] : [...new Set(typeof f.status === 'string' ? [f.status] : f.status)];
  // Several statuses: one index range (merchant_id, status, created_at, id) per status, each read
  // in page order and stopped after a page, merged here. One query on `status in (…)` would read
  // every row of those statuses and sort them to find the first page.
  const rows = [];
  for (const status of statuses.length > 0 ? statuses : [undefined])
    rows.push(...(await refundRange(ctx, caller.merchantId, { ...f, status }, order)));
  rows.sort(inListOrder(order));
  return page(rows.slice(0, f.limit + 1).map(refundView), f.limit);
}

/** One page of refunds of at most one status, in list order. */
async function refundRange(
  ctx: Ctx,
  merchantId: string,
  f: RefundFilter & { status: RefundStatus | undefined },
  order: ListOrder,
) {
  let q = ctx.store.db.selectFrom('refunds').selectAll().where('merchant_id', '=', merchantId);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.paymentId) q = q.where('payment_id', '=', f.paymentId);
  if (f.orderNo) q = q.where('order_no', '=', f.orderNo);
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  const after = afterCursor(f.cursor, order);
  if (after) q = q.where(after);
  // The cursor's time also bounds the index range (merchant_id, [filter,] created_at, id):
  // without it a deep page walks every row before its first one.
  const bound = f.cursor ? decodeCursor(f.cursor) : null;
  if (bound) q = q.where('created_at', order === 'newest' ? '<=' : '>=', bound.createdAt);
  const direction = order === 'newest' ? 'desc' : 'asc';
  return q
    .orderBy('created_at', direction)
    .orderBy('id', direction)
    .limit(f.limit + 1)
    .execute();
}
