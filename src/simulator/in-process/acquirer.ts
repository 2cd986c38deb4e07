import { acquirerFeeMinor } from '../../domain/payment.js';
import { ulid } from '../../ids.js';
import {
  type NetworkPort,
  type NetworkResult,
  NetworkUnavailableError,
  type RefundSubmission,
  responseCodes,
  type SaleLookup,
  type SaleLookupResult,
  type SaleRequest,
  type SaleResult,
  type SettlementRequest,
  type SettlementTotals,
  type SubmitAck,
  type VoidRequest,
} from '../../network/port.js';
import type { Store } from '../../store/db.js';
import { forUpdate } from '../../store/db.js';
import { reviewRefund } from '../review.js';

/** Acquirer fee (MDR) per method in basis points, charged on sales. */

export interface InProcessAcquirerOptions {
  /** How long scheme review + issuer processing takes before the result comes back. */
  processingDelayMs: number;
  clock?: () => Date;
}

/**
 * The first acquirer behind the port: acquirer, scheme and issuer in one, keeping its own books
 * (acq_* tables) in the same store. It applies seed 004's review rules to every refund:
 * over the original (13), original not completed (25), reason not compliant (57),
 * insufficient merchant funds (51). Decisions are persisted at submission, so a restart of
 * either side loses nothing; results are delivered after `processingDelayMs`.
 *
 * Why it uses the store directly, not a journal port: it is not one of our adapters but a stand-in
 * for the other side of the wire, and its acq_* tables are the network's books, not our journal.
 * They share our database only so that tests with `NETWORK=in-process` need no second file and
 * restart with us. A port for them would have this one implementation and only hide that; the
 * rule "network never imports store" is about our adapters, and this lives under simulator/.
 */
export class InProcessAcquirer implements NetworkPort {
  readonly name = 'in-process';
  /** Fault switch for tests and demos: when true every call fails as unreachable. */
  down = false;
  private handlers: ((r: NetworkResult) => Promise<void>)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly opts: InProcessAcquirerOptions,
  ) {
    this.clock = opts.clock ?? (() => new Date());
  }

  private checkUp(): void {
    if (this.down) throw new NetworkUnavailableError('acquirer host unreachable', 'not_applied');
  }

  async echo(): Promise<boolean> {
    return !this.down;
  }

  async authorizeSale(req: SaleRequest): Promise<SaleResult> {
    this.checkUp();
    const now = this.clock().toISOString();
    return this.store.tx(async (trx) => {
      const existing = await trx
        .selectFrom('acq_transactions')
        .selectAll()
        .where('request_id', '=', req.requestId)
        .executeTakeFirst();
      if (existing) {
        return {
          approved: existing.response_code === '00',
          reference: existing.reference,
          responseCode: existing.response_code ?? '96',
        };
      }
      const reference = newReference();
      const fee = acquirerFeeMinor(req.amountMinor, req.method);
      await trx
        .insertInto('acq_transactions')
        .values({
          reference,
          merchant_id: req.merchantId,
          terminal_id: req.terminalId,
          kind: 'sale',
          request_id: req.requestId,
          original_reference: null,
          amount_minor: req.amountMinor,
          fee_minor: fee,
          currency: req.currency,
          status: 'completed',
          response_code: responseCodes.approved,
          due_at: now,
          batch_no: null,
          created_at: now,
        })
        .execute();
      await this.credit(trx, req.merchantId, req.amountMinor - fee);
      return { approved: true, reference, responseCode: responseCodes.approved };
    });
  }

  /** The sale as the acquirer's books hold it: unknown or voided ones stand at nothing. */
  async lookupSale(req: SaleLookup): Promise<SaleLookupResult> {
    this.checkUp();
    const row = await this.store.db
      .selectFrom('acq_transactions')
      .select(['reference', 'kind', 'status', 'response_code'])
      .where('request_id', '=', req.requestId)
      .executeTakeFirst();
    if (row?.kind !== 'sale' || row.status === 'voided') return { state: 'not_sent' };
    const code = row.response_code ?? responseCodes.systemError;
    return code === responseCodes.approved
      ? { state: 'approved', reference: row.reference }
      : { state: 'declined', responseCode: code };
  }

  async voidSale(req: VoidRequest): Promise<{ approved: boolean; responseCode: string }> {
    this.checkUp();
    return this.store.tx(async (trx) => {
      const sale = await forUpdate(
        trx,
        trx.selectFrom('acq_transactions').selectAll().where('reference', '=', req.originalReference),
      ).executeTakeFirst();
      if (sale?.kind !== 'sale') return { approved: false, responseCode: responseCodes.originalNotFound };
      if (sale.status === 'voided') return { approved: true, responseCode: responseCodes.approved };
      if (sale.batch_no !== null) return { approved: false, responseCode: responseCodes.invalidTransaction };
      await trx
        .updateTable('acq_transactions')
        .set({ status: 'voided' })
        .where('reference', '=', sale.reference)
        .execute();
      await this.credit(trx, req.merchantId, -(Number(sale.amount_minor) - Number(sale.fee_minor)));
      return { approved: true, responseCode: responseCodes.approved };
    });
  }

  async submitRefund(req: RefundSubmission): Promise<SubmitAck> {
    this.checkUp();
    const now = this.clock();
    const due = new Date(now.getTime() + this.opts.processingDelayMs);
    const ack = await this.store.tx(async (trx): Promise<{ reference: string; due: Date }> => {
      const existing = await trx
        .selectFrom('acq_transactions')
        .selectAll()
        .where('request_id', '=', req.requestId)
        .executeTakeFirst();
      if (existing) return { reference: existing.reference, due: new Date(existing.due_at) };
      const code = await this.review(trx, req);
      const reference = newReference();
      if (code === responseCodes.approved) await this.credit(trx, req.merchantId, -req.amountMinor);
      await trx
        .insertInto('acq_transactions')
        .values({
          reference,
          merchant_id: req.merchantId,
          terminal_id: req.terminalId,
          kind: 'refund',
          request_id: req.requestId,
          original_reference: req.originalReference,
          amount_minor: req.amountMinor,
          fee_minor: 0,
          currency: req.currency,
          status: code === responseCodes.approved ? 'succeeded' : 'failed',
          response_code: code,
          due_at: due.toISOString(),
          batch_no: null,
          created_at: now.toISOString(),
        })
        .execute();
      return { reference, due };
    });
    this.deliverAt(req.requestId, ack.due);
    return { kind: 'accepted', reference: ack.reference };
  }

  /** Gather the facts of seed 004's review from the acquirer's books and apply the shared rules. */
  private async review(
    trx: Parameters<Parameters<Store['tx']>[0]>[0],
    req: RefundSubmission,
  ): Promise<string> {
    const sale = await forUpdate(
      trx,
      trx.selectFrom('acq_transactions').selectAll().where('reference', '=', req.originalReference),
    ).executeTakeFirst();
    const refunded = await trx
      .selectFrom('acq_transactions')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_minor'), eb.lit(0)).as('total'))
      .where('original_reference', '=', req.originalReference)
      .where('kind', '=', 'refund')
      .where('status', '=', 'succeeded')
      .executeTakeFirstOrThrow();
    const account = await forUpdate(
      trx,
      trx.selectFrom('acq_accounts').selectAll().where('merchant_id', '=', req.merchantId),
    ).executeTakeFirst();
    return reviewRefund({
      sale:
        sale?.kind === 'sale'
          ? { completed: sale.status === 'completed', amountMinor: Number(sale.amount_minor) }
          : null,
      refundedMinor: Number(refunded.total),
      amountMinor: req.amountMinor,
      reason: req.reason,
      merchantBalanceMinor: Number(account?.balance_minor ?? 0),
    });
  }

  async queryRefund(requestId: string): Promise<NetworkResult | null> {
    this.checkUp();
    const row = await this.store.db
      .selectFrom('acq_transactions')
      .selectAll()
      .where('request_id', '=', requestId)
      .executeTakeFirst();
    if (!row || new Date(row.due_at).getTime() > this.clock().getTime()) return null;
    return {
      requestId,
      reference: row.reference,
      outcome: row.status === 'succeeded' ? 'succeeded' : 'failed',
      responseCode: row.response_code ?? responseCodes.systemError,
    };
  }

  async settle({ merchantId, terminalId, batchNo }: SettlementRequest): Promise<SettlementTotals> {
    this.checkUp();
    return this.store.tx(async (trx) => {
      const open = await trx
        .selectFrom('acq_transactions')
        .select(['reference', 'kind', 'status', 'amount_minor'])
        .where('merchant_id', '=', merchantId)
        .where('terminal_id', '=', terminalId)
        .where('batch_no', 'is', null)
        .execute();
      const totals: SettlementTotals = {
        sales: { count: 0, amountMinor: 0 },
        refunds: { count: 0, amountMinor: 0 },
        voids: { count: 0, amountMinor: 0 },
      };
      for (const t of open) {
        const bucket =
          t.kind === 'sale'
            ? t.status === 'voided'
              ? totals.voids
              : totals.sales
            : t.status === 'succeeded'
              ? totals.refunds
              : null;
        if (!bucket) continue;
        bucket.count++;
        bucket.amountMinor += Number(t.amount_minor);
      }
      await trx
        .updateTable('acq_transactions')
        .set({ batch_no: batchNo })
        .where('merchant_id', '=', merchantId)
        .where('terminal_id', '=', terminalId)
        .where('batch_no', 'is', null)
        .where((eb) => eb.or([eb('kind', '=', 'sale'), eb('status', '=', 'succeeded')]))
        .execute();
      return totals;
    });
  }

  onResult(handler: (r: NetworkResult) => Promise<void>): void {
    this.handlers.push(handler);
  }

  private deliverAt(requestId: string, due: Date): void {
    const wait = Math.max(0, due.getTime() - this.clock().getTime());
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.deliver(requestId);
    }, wait);
    this.timers.add(timer);
  }

  private async deliver(requestId: string): Promise<void> {
    try {
      const result = await this.queryRefund(requestId);
      if (!result) return;
      for (const h of this.handlers) await h(result);
    } catch {
      // A lost notification is recovered by the worker's status query; nothing to do here.
    }
  }

  private async credit(
    trx: Parameters<Parameters<Store['tx']>[0]>[0],
    merchantId: string,
    amountMinor: number,
  ) {
    await trx
      .insertInto('acq_accounts')
      .values({ merchant_id: merchantId, balance_minor: amountMinor })
      .onConflict((oc) =>
        oc
          .column('merchant_id')
          .doUpdateSet((eb) => ({ balance_minor: eb('acq_accounts.balance_minor', '+', amountMinor) })),
      )
      .execute();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function newReference(): string {
  // 12 characters like an RRN (field 37): time-ordered and unique.
  return ulid().slice(-12);
}
