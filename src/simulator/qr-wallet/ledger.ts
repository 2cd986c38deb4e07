import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type CancelResult,
  type PayBiz,
  QrWalletError,
  type RefundBiz,
  type RefundNotification,
  type RefundResult,
  type RefundStatus,
  type SettleBiz,
  type SettleResult,
  type TradeBiz,
  type TradeRef,
} from '../../network/qr-wallet/protocol.js';

/**
 * The QR wallet's own books (the other side of the merchant's ledger): consumer wallet accounts,
 * merchants' balances at the wallet, trades, refunds, and every financial effect as one row.
 * One better-sqlite3 file (or ':memory:'), WAL, synchronous=FULL; every operation is one
 * IMMEDIATE transaction, so a crash never leaves half an effect.
 *
 * The rules follow Alipay's trade.refund and WeChat Pay's refund API:
 * - a refund is identified by (merchant, outRequestNo): the same request again gets the same
 *   answer and moves no money (fund_change N); the same number with another trade or amount is
 *   refused (OUT_REQUEST_NO_REUSED);
 * - any number of partial refunds, their total never above the trade (REFUND_AMOUNT_INVALID);
 * - the trade must exist and be paid (TRADE_NOT_EXIST / TRADE_STATUS_ERROR), and be younger than
 *   the refund window, 365 days by default (TRADE_HAS_FINISHED);
 * - the merchant's available balance at the wallet must cover it (SELLER_BALANCE_NOT_ENOUGH);
 * - a reason is required (REFUND_REASON_REQUIRED);
 * - a refusal records nothing, so the merchant may retry the same outRequestNo once fixed
 *   ("一笔退款失败后重新提交，要采用原来的退款单号").
 * An accepted refund is PROCESSING: its net amount is held on the merchant's balance; after the
 * processing delay it finishes SUCCESS (money moves, one `qr_refund` effect) or FAIL (the hold is
 * released; the consumer's account was closed meanwhile: BUYER_ACCOUNT_ABNORMAL), and a
 * notification is queued in the same transaction.
 *
 * The wallet charges a fee (MDR, `feeBps`) on each sale and gives it back pro rata with each
 * refund (the last refund takes the rounding remainder) and whole with a cancel.
 */

export type EffectKind = 'qr_sale' | 'qr_refund';

/** One financial effect the wallet applied. Cancelled sales are marked reversed, not deleted. */
export interface Effect {
  /** tradeNo for a sale, outRequestNo for a refund. */
  reference: string;
  kind: EffectKind;
  amount: number;
  merchantId: string;
  at: string;
}

export interface QrLedgerOptions {
  /** A file path (its directory is created) or ':memory:'. */
  path: string;
  clock?: () => Date;
  /** Wallet fee on sales in basis points; default 38 (0.38 %, a common QR MDR). */
  feeBps?: number;
  /** Default 365 (WeChat Pay: "orders placed over one year ago are not eligible for refund"). */
  refundWindowDays?: number;
}

export interface MerchantBalance {
  balanceMinor: number;
  /** Held for refunds still PROCESSING. */
  heldMinor: number;
  availableMinor: number;
}

/** A notification the wallet owes a merchant; the server signs and delivers it. */
export interface NotificationDue {
  id: number;
  merchantId: string;
  attempts: number;
  payload: Omit<RefundNotification, 'sign' | 'signType' | 'notifyTime'>;
}

interface TradeRow {
  trade_no: string;
  merchant_id: string;
  out_trade_no: string;
  user_id: string;
  terminal_id: string | null;
  amount_minor: number;
  fee_minor: number;
  currency: string;
  subject: string;
  status: 'TRADE_SUCCESS' | 'TRADE_CLOSED';
  refunded_minor: number;
  processing_minor: number;
  fee_returned_minor: number;
  created_at: string;
  cancelled_at: string | null;
  batch_no: number | null;
}

interface RefundRow {
  refund_no: string;
  merchant_id: string;
  out_request_no: string;
  trade_no: string;
  terminal_id: string | null;
  amount_minor: number;
  fee_back_minor: number;
  currency: string;
  reason: string;
  status: RefundStatus;
  fail_code: string | null;
  created_at: string;
  due_at: string;
  finished_at: string | null;
  batch_no: number | null;
}

interface ConsumerRow {
  user_id: string;
  auth_code: string;
  balance_minor: number;
  status: 'active' | 'closed';
}

const DAY_MS = 86_400_000;
const MAX_BATCH = 500;

const SCHEMA = `
  create table if not exists qr_meta (
    key text primary key, value integer not null);
  create table if not exists qr_consumers (
    user_id text primary key, auth_code text not null unique,
    balance_minor integer not null check (balance_minor >= 0),
    status text not null default 'active' check (status in ('active', 'closed')));
  create table if not exists qr_merchants (
    merchant_id text primary key,
    balance_minor integer not null,
    held_minor integer not null default 0,
    check (held_minor >= 0 and held_minor <= balance_minor));
  create table if not exists qr_trades (
    trade_no text primary key, merchant_id text not null, out_trade_no text not null,
    user_id text not null, terminal_id text, amount_minor integer not null check (amount_minor > 0),
    fee_minor integer not null check (fee_minor >= 0), currency text not null, subject text not null,
    status text not null check (status in ('TRADE_SUCCESS', 'TRADE_CLOSED')),
    refunded_minor integer not null default 0 check (refunded_minor >= 0),
    processing_minor integer not null default 0 check (processing_minor >= 0),
    fee_returned_minor integer not null default 0 check (fee_returned_minor >= 0),
    created_at text not null, cancelled_at text, batch_no integer,
    unique (merchant_id, out_trade_no),
    check (refunded_minor + processing_minor <= amount_minor),
    check (fee_returned_minor <= fee_minor));
  create index if not exists qr_trades_batch on qr_trades (merchant_id, terminal_id, batch_no);
  create table if not exists qr_refunds (
    refund_no text primary key, merchant_id text not null, out_request_no text not null,
    trade_no text not null references qr_trades (trade_no), terminal_id text,
    amount_minor integer not null check (amount_minor > 0),
    fee_back_minor integer not null check (fee_back_minor >= 0),
    currency text not null, reason text not null,
    status text not null check (status in ('PROCESSING', 'SUCCESS', 'FAIL')),
    fail_code text, created_at text not null, due_at text not null, finished_at text, batch_no integer,
    unique (merchant_id, out_request_no));
  create index if not exists qr_refunds_due on qr_refunds (status, due_at);
  create index if not exists qr_refunds_trade on qr_refunds (trade_no);
  create table if not exists qr_effects (
    seq integer primary key autoincrement, reference text not null,
    kind text not null check (kind in ('qr_sale', 'qr_refund')),
    amount_minor integer not null check (amount_minor > 0), merchant_id text not null, at text not null,
    reversed_at text,
    unique (kind, merchant_id, reference));
  create table if not exists qr_notifications (
    id integer primary key autoincrement, merchant_id text not null, out_request_no text not null,
    attempts integer not null default 0, next_attempt_at text not null,
    delivered_at text, gave_up_at text, last_error text,
    unique (merchant_id, out_request_no));
  create index if not exists qr_notifications_due on qr_notifications (delivered_at, gave_up_at, next_attempt_at);
  create table if not exists qr_batches (
    merchant_id text not null, terminal_id text not null, batch_no integer not null,
    totals_json text not null, at text not null,
    primary key (merchant_id, terminal_id, batch_no));
  create table if not exists qr_closed_orders (
    merchant_id text not null, out_trade_no text not null, at text not null,
    primary key (merchant_id, out_trade_no));
`;

export class QrLedger {
  readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly feeBps: number;
  private readonly windowMs: number;

  constructor(opts: QrLedgerOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.feeBps = opts.feeBps ?? 38;
    this.windowMs = (opts.refundWindowDays ?? 365) * DAY_MS;
    if (!Number.isInteger(this.feeBps) || this.feeBps < 0 || this.feeBps > 1_000) {
      throw new Error(`feeBps must be an integer within 0..1000, not ${this.feeBps}`);
    }
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` as one IMMEDIATE transaction: all of its writes or none. */
  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private now(): Date {
    return this.clock();
  }

  // -------------------------------------------------------------------------------------------
  // Accounts

  /** Open a consumer wallet account (idempotent: an existing account is left as it is). */
  openConsumer(c: { userId: string; authCode: string; balanceMinor: number }): void {
    assertAmount(c.balanceMinor, true);
    this.tx(() => {
      const r = this.db
        .prepare('insert or ignore into qr_consumers (user_id, auth_code, balance_minor) values (?, ?, ?)')
        .run(c.userId, c.authCode, c.balanceMinor);
      if (r.changes === 1) this.addFunded(c.balanceMinor);
    });
  }

  setConsumerStatus(userId: string, status: 'active' | 'closed'): void {
    const r = this.db.prepare('update qr_consumers set status = ? where user_id = ?').run(status, userId);
    if (r.changes !== 1) throw new Error(`no consumer ${userId}`);
  }

  consumerBalance(userId: string): number {
    const row = this.db.prepare('select balance_minor from qr_consumers where user_id = ?').get(userId) as
      | { balance_minor: number }
      | undefined;
    if (!row) throw new Error(`no consumer ${userId}`);
    return row.balance_minor;
  }

  /** Open a merchant at the wallet with an opening balance; an existing merchant is left as it is. */
  openMerchant(merchantId: string, openingBalanceMinor: number): void {
    assertAmount(openingBalanceMinor, true);
    this.tx(() => {
      const r = this.db
        .prepare(
          'insert or ignore into qr_merchants (merchant_id, balance_minor, held_minor) values (?, ?, 0)',
        )
        .run(merchantId, openingBalanceMinor);
      if (r.changes === 1) this.addFunded(openingBalanceMinor);
    });
  }

  /** Top up a merchant's balance at the wallet (opening it if needed). */
  fundMerchant(merchantId: string, amountMinor: number): void {
    assertAmount(amountMinor, true);
    this.tx(() => {
      this.ensureMerchant(merchantId);
      this.db
        .prepare('update qr_merchants set balance_minor = balance_minor + ? where merchant_id = ?')
        .run(amountMinor, merchantId);
      this.addFunded(amountMinor);
    });
  }

  /**
   * Settle part of a merchant's available balance out to its bank account (the wallet's T+1
   * payout). What is paid out is no longer there to cover refunds: SELLER_BALANCE_NOT_ENOUGH.
   */
  payOutMerchant(merchantId: string, amountMinor: number): void {
    assertAmount(amountMinor, true);
    this.tx(() => {
      if (this.merchantBalance(merchantId).availableMinor < amountMinor) {
        throw new QrWalletError('SELLER_BALANCE_NOT_ENOUGH', 'payout above the available balance');
      }
      this.db
        .prepare('update qr_merchants set balance_minor = balance_minor - ? where merchant_id = ?')
        .run(amountMinor, merchantId);
      this.addFunded(-amountMinor);
    });
  }

  merchantBalance(merchantId: string): MerchantBalance {
    const row = this.db
      .prepare('select balance_minor, held_minor from qr_merchants where merchant_id = ?')
      .get(merchantId) as { balance_minor: number; held_minor: number } | undefined;
    const balanceMinor = row?.balance_minor ?? 0;
    const heldMinor = row?.held_minor ?? 0;
    return { balanceMinor, heldMinor, availableMinor: balanceMinor - heldMinor };
  }

  private ensureMerchant(merchantId: string): void {
    this.db
      .prepare('insert or ignore into qr_merchants (merchant_id, balance_minor, held_minor) values (?, 0, 0)')
      .run(merchantId);
  }

  private addFunded(amountMinor: number): void {
    this.db
      .prepare(
        "insert into qr_meta (key, value) values ('funded_minor', ?) on conflict (key) do update set value = value + excluded.value",
      )
      .run(amountMinor);
  }

  // -------------------------------------------------------------------------------------------
  // Trades

  /** trade.pay: debit the consumer behind the payment code, credit the merchant net of the fee. */
  pay(merchantId: string, biz: PayBiz): TradeBiz {
    return this.tx(() => {
      const consumer = this.db.prepare('select * from qr_consumers where auth_code = ?').get(biz.authCode) as
        | ConsumerRow
        | undefined;
      const existing = this.db
        .prepare('select * from qr_trades where merchant_id = ? and out_trade_no = ?')
        .get(merchantId, biz.outTradeNo) as TradeRow | undefined;
      if (existing) {
        const same =
          existing.amount_minor === biz.totalAmount &&
          existing.currency === biz.currency &&
          existing.user_id === consumer?.user_id;
        if (!same)
          throw new QrWalletError(
            'OUT_TRADE_NO_USED',
            `outTradeNo ${biz.outTradeNo} was used for another payment`,
          );
        return this.tradeBiz(existing);
      }
      const closed = this.db
        .prepare('select at from qr_closed_orders where merchant_id = ? and out_trade_no = ?')
        .get(merchantId, biz.outTradeNo);
      if (closed)
        throw new QrWalletError(
          'TRADE_STATUS_ERROR',
          `order ${biz.outTradeNo} was cancelled before it was paid`,
        );
      if (biz.currency !== 'CNY')
        throw new QrWalletError('CURRENCY_NOT_SUPPORTED', `wallet accounts are in CNY`);
      if (!consumer) throw new QrWalletError('PAYMENT_AUTH_CODE_INVALID', 'payment code not recognised');
      if (consumer.status !== 'active')
        throw new QrWalletError('BUYER_ACCOUNT_ABNORMAL', "the buyer's account is closed");
      if (consumer.balance_minor < biz.totalAmount) {
        throw new QrWalletError('BUYER_BALANCE_NOT_ENOUGH', "the buyer's balance does not cover the payment");
      }
      const now = this.now();
      const at = now.toISOString();
      const tradeNo = newNumber(now, '22');
      const fee = Number((BigInt(biz.totalAmount) * BigInt(this.feeBps)) / 10_000n);
      this.db
        .prepare('update qr_consumers set balance_minor = balance_minor - ? where user_id = ?')
        .run(biz.totalAmount, consumer.user_id);
      this.ensureMerchant(merchantId);
      this.db
        .prepare('update qr_merchants set balance_minor = balance_minor + ? where merchant_id = ?')
        .run(biz.totalAmount - fee, merchantId);
      this.db
        .prepare(
          `insert into qr_trades (trade_no, merchant_id, out_trade_no, user_id, terminal_id, amount_minor, fee_minor,
             currency, subject, status, created_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'TRADE_SUCCESS', ?)`,
        )
        .run(
          tradeNo,
          merchantId,
          biz.outTradeNo,
          consumer.user_id,
          biz.terminalId ?? null,
          biz.totalAmount,
          fee,
          biz.currency,
          biz.subject,
          at,
        );
      this.effect(tradeNo, 'qr_sale', biz.totalAmount, merchantId, at);
      return this.tradeBiz(this.trade(tradeNo));
    });
  }

  /** trade.query */
  queryTrade(merchantId: string, ref: TradeRef): TradeBiz {
    return this.tradeBiz(this.resolveTrade(merchantId, ref));
  }

  /**
   * trade.cancel (撤销): the whole sale undone, fee included, while it is in no settled batch and
   * has no refunds. Repeating a cancel answers the same.
   */
  cancel(merchantId: string, ref: TradeRef): CancelResult {
    return this.tx(() => {
      if (!ref.tradeNo && ref.outTradeNo) {
        const unpaid = this.closeUnpaidOrder(merchantId, ref.outTradeNo);
        if (unpaid) return unpaid;
      }
      const trade = this.resolveTrade(merchantId, ref);
      const result = (at: string): CancelResult => ({
        tradeNo: trade.trade_no,
        outTradeNo: trade.out_trade_no,
        action: 'refund',
        cancelledAt: at,
      });
      if (trade.cancelled_at) return result(trade.cancelled_at);
      if (trade.batch_no !== null) {
        throw new QrWalletError(
          'TRADE_CANCEL_NOT_ALLOWED',
          'the trade is in a settled batch: refund it instead',
        );
      }
      if (trade.refunded_minor + trade.processing_minor > 0) {
        throw new QrWalletError('TRADE_CANCEL_NOT_ALLOWED', 'the trade has refunds: refund the rest instead');
      }
      const net = trade.amount_minor - trade.fee_minor;
      if (this.merchantBalance(merchantId).availableMinor < net) {
        throw new QrWalletError(
          'SELLER_BALANCE_NOT_ENOUGH',
          "the merchant's balance does not cover the cancel",
        );
      }
      const at = this.now().toISOString();
      this.db
        .prepare('update qr_merchants set balance_minor = balance_minor - ? where merchant_id = ?')
        .run(net, merchantId);
      this.db
        .prepare('update qr_consumers set balance_minor = balance_minor + ? where user_id = ?')
        .run(trade.amount_minor, trade.user_id);
      this.db
        .prepare(
          "update qr_trades set status = 'TRADE_CLOSED', cancelled_at = ?, fee_returned_minor = fee_minor where trade_no = ?",
        )
        .run(at, trade.trade_no);
      this.db
        .prepare(
          "update qr_effects set reversed_at = ? where kind = 'qr_sale' and merchant_id = ? and reference = ?",
        )
        .run(at, merchantId, trade.trade_no);
      return result(at);
    });
  }

  /** Cancel of an order the wallet has no trade for: close it, so a late trade.pay is refused. */
  private closeUnpaidOrder(merchantId: string, outTradeNo: string): CancelResult | null {
    const paid = this.db
      .prepare('select 1 from qr_trades where merchant_id = ? and out_trade_no = ?')
      .get(merchantId, outTradeNo);
    if (paid) return null;
    this.db
      .prepare('insert or ignore into qr_closed_orders (merchant_id, out_trade_no, at) values (?, ?, ?)')
      .run(merchantId, outTradeNo, this.now().toISOString());
    const row = this.db
      .prepare('select at from qr_closed_orders where merchant_id = ? and out_trade_no = ?')
      .get(merchantId, outTradeNo) as { at: string };
    return { outTradeNo, action: 'close', cancelledAt: row.at };
  }

  private trade(tradeNo: string): TradeRow {
    const row = this.db.prepare('select * from qr_trades where trade_no = ?').get(tradeNo) as
      | TradeRow
      | undefined;
    if (!row) throw new QrWalletError('TRADE_NOT_EXIST', `no trade ${tradeNo}`);
    return row;
  }

  /** tradeNo wins over outTradeNo when both are given (Alipay does the same). */
  private resolveTrade(merchantId: string, ref: TradeRef): TradeRow {
    let row: TradeRow | undefined;
    if (ref.tradeNo) {
      row = this.db
        .prepare('select * from qr_trades where trade_no = ? and merchant_id = ?')
        .get(ref.tradeNo, merchantId) as TradeRow | undefined;
    } else if (ref.outTradeNo) {
      row = this.db
        .prepare('select * from qr_trades where out_trade_no = ? and merchant_id = ?')
        .get(ref.outTradeNo, merchantId) as TradeRow | undefined;
    } else {
      throw new QrWalletError('INVALID_PARAMETER', 'tradeNo or outTradeNo is required');
    }
    if (!row) throw new QrWalletError('TRADE_NOT_EXIST', `no trade ${ref.tradeNo ?? ref.outTradeNo}`);
    return row;
  }

  private tradeBiz(t: TradeRow): TradeBiz {
    const expired = this.now().getTime() - Date.parse(t.created_at) > this.windowMs;
    return {
      tradeNo: t.trade_no,
      outTradeNo: t.out_trade_no,
      status: t.status === 'TRADE_SUCCESS' && expired ? 'TRADE_FINISHED' : t.status,
      totalAmount: t.amount_minor,
      refundedAmount: t.refunded_minor,
      currency: t.currency,
      buyerId: maskUser(t.user_id),
      cancelled: t.cancelled_at !== null,
      gmtPayment: t.created_at,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Refunds

  /**
   * trade.refund: accept a refund as PROCESSING (finishing `delayMs` later), or answer the earlier
   * result for the same outRequestNo, or refuse it with a code and record nothing.
   */
  refund(merchantId: string, biz: RefundBiz, delayMs: number): RefundResult {
    if (!Number.isInteger(delayMs) || delayMs < 0) throw new Error(`delayMs must be a non-negative integer`);
    return this.tx(() => {
      const existing = this.refundRow(merchantId, biz.outRequestNo);
      if (existing) {
        const trade = this.trade(existing.trade_no);
        const sameTrade =
          (biz.tradeNo ?? trade.trade_no) === trade.trade_no &&
          (biz.tradeNo !== undefined || biz.outTradeNo === trade.out_trade_no);
        if (
          !sameTrade ||
          existing.amount_minor !== biz.refundAmount ||
          (biz.currency ?? trade.currency) !== trade.currency
        ) {
          throw new QrWalletError(
            'OUT_REQUEST_NO_REUSED',
            `outRequestNo ${biz.outRequestNo} was used for another refund (trade ${trade.trade_no}, ${existing.amount_minor} fen)`,
          );
        }
        return this.refundResult(existing, trade, 'N');
      }
      const reason = biz.refundReason.trim();
      if (reason.length === 0)
        throw new QrWalletError('REFUND_REASON_REQUIRED', 'a refund reason is required');
      const trade = this.resolveTrade(merchantId, biz);
      if (biz.currency && biz.currency !== trade.currency) {
        throw new QrWalletError('CURRENCY_NOT_SUPPORTED', `the trade is in ${trade.currency}`);
      }
      if (trade.cancelled_at) throw new QrWalletError('TRADE_STATUS_ERROR', 'the trade was cancelled');
      const now = this.now();
      if (now.getTime() - Date.parse(trade.created_at) > this.windowMs) {
        throw new QrWalletError(
          'TRADE_HAS_FINISHED',
          `the trade is past its ${this.windowMs / DAY_MS}-day refund window`,
        );
      }
      const refundable = trade.amount_minor - trade.refunded_minor - trade.processing_minor;
      if (biz.refundAmount > refundable) {
        throw new QrWalletError(
          'REFUND_AMOUNT_INVALID',
          `refund ${biz.refundAmount} exceeds the refundable remainder ${refundable} of ${trade.amount_minor}`,
        );
      }
      const feeBack = this.feeBack(trade, biz.refundAmount);
      const net = biz.refundAmount - feeBack;
      if (this.merchantBalance(merchantId).availableMinor < net) {
        throw new QrWalletError(
          'SELLER_BALANCE_NOT_ENOUGH',
          "the merchant's balance at the wallet does not cover the refund",
        );
      }
      const at = now.toISOString();
      const refundNo = newNumber(now, '50');
      this.db
        .prepare(
          `insert into qr_refunds (refund_no, merchant_id, out_request_no, trade_no, terminal_id, amount_minor,
             fee_back_minor, currency, reason, status, created_at, due_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PROCESSING', ?, ?)`,
        )
        .run(
          refundNo,
          merchantId,
          biz.outRequestNo,
          trade.trade_no,
          biz.terminalId ?? null,
          biz.refundAmount,
          feeBack,
          trade.currency,
          reason,
          at,
          new Date(now.getTime() + delayMs).toISOString(),
        );
      this.db
        .prepare('update qr_trades set processing_minor = processing_minor + ? where trade_no = ?')
        .run(biz.refundAmount, trade.trade_no);
      this.db
        .prepare('update qr_merchants set held_minor = held_minor + ? where merchant_id = ?')
        .run(net, merchantId);
      return this.refundResult(this.refundByNo(refundNo), this.trade(trade.trade_no), 'Y');
    });
  }

  /** Pro-rata fee back; the refund that exhausts the trade takes the rounding remainder. */
  private feeBack(trade: TradeRow, amountMinor: number): number {
    const given = this.db
      .prepare(
        "select coalesce(sum(fee_back_minor), 0) as s from qr_refunds where trade_no = ? and status != 'FAIL'",
      )
      .get(trade.trade_no) as { s: number };
    const exhausts = trade.refunded_minor + trade.processing_minor + amountMinor === trade.amount_minor;
    const back = exhausts
      ? trade.fee_minor - given.s
      : Number((BigInt(trade.fee_minor) * BigInt(amountMinor)) / BigInt(trade.amount_minor));
    invariant(back >= 0 && given.s + back <= trade.fee_minor, `fee back ${back} for trade ${trade.trade_no}`);
    return back;
  }

  /**
   * trade.refund.query: the refund's current state (finishing it first if it is due, so a query
   * never reports PROCESSING for a refund the wallet has already decided).
   */
  queryRefund(merchantId: string, outRequestNo: string): RefundResult {
    const row = this.refundRow(merchantId, outRequestNo);
    if (!row) throw new QrWalletError('REFUND_NOT_EXIST', `no refund ${outRequestNo}`);
    if (row.status === 'PROCESSING' && row.due_at <= this.now().toISOString()) this.finish(row.refund_no);
    const current = this.refundByNo(row.refund_no);
    return this.refundResult(current, this.trade(current.trade_no), 'N');
  }

  /** Finish every refund whose processing delay is over; each in its own transaction. */
  finishDueRefunds(limit = 100): (RefundResult & { merchantId: string })[] {
    const due = this.db
      .prepare(
        "select refund_no from qr_refunds where status = 'PROCESSING' and due_at <= ? order by due_at limit ?",
      )
      .all(this.now().toISOString(), Math.min(limit, MAX_BATCH)) as { refund_no: string }[];
    const done: (RefundResult & { merchantId: string })[] = [];
    for (const { refund_no } of due) {
      const r = this.finish(refund_no);
      if (r) done.push(r);
    }
    return done;
  }

  /** PROCESSING → SUCCESS (money moves) or FAIL (hold released), and queue the notification. */
  private finish(refundNo: string): (RefundResult & { merchantId: string }) | null {
    return this.tx(() => {
      const refund = this.refundByNo(refundNo);
      if (refund.status !== 'PROCESSING') return null;
      const trade = this.trade(refund.trade_no);
      const consumer = this.db
        .prepare('select * from qr_consumers where user_id = ?')
        .get(trade.user_id) as ConsumerRow;
      const at = this.now().toISOString();
      const net = refund.amount_minor - refund.fee_back_minor;
      this.db
        .prepare('update qr_merchants set held_minor = held_minor - ? where merchant_id = ?')
        .run(net, refund.merchant_id);
      this.db
        .prepare('update qr_trades set processing_minor = processing_minor - ? where trade_no = ?')
        .run(refund.amount_minor, trade.trade_no);
      if (consumer.status !== 'active') {
        this.db
          .prepare(
            "update qr_refunds set status = 'FAIL', fail_code = 'BUYER_ACCOUNT_ABNORMAL', finished_at = ? where refund_no = ?",
          )
          .run(at, refundNo);
      } else {
        this.db
          .prepare('update qr_merchants set balance_minor = balance_minor - ? where merchant_id = ?')
          .run(net, refund.merchant_id);
        this.db
          .prepare('update qr_consumers set balance_minor = balance_minor + ? where user_id = ?')
          .run(refund.amount_minor, consumer.user_id);
        this.db
          .prepare(
            `update qr_trades set refunded_minor = refunded_minor + ?, fee_returned_minor = fee_returned_minor + ?,
               status = case when refunded_minor + ? = amount_minor then 'TRADE_CLOSED' else status end
             where trade_no = ?`,
          )
          .run(refund.amount_minor, refund.fee_back_minor, refund.amount_minor, trade.trade_no);
        this.db
          .prepare("update qr_refunds set status = 'SUCCESS', finished_at = ? where refund_no = ?")
          .run(at, refundNo);
        this.effect(refund.out_request_no, 'qr_refund', refund.amount_minor, refund.merchant_id, at);
      }
      this.db
        .prepare(
          'insert or ignore into qr_notifications (merchant_id, out_request_no, next_attempt_at) values (?, ?, ?)',
        )
        .run(refund.merchant_id, refund.out_request_no, at);
      const done = this.refundByNo(refundNo);
      return { ...this.refundResult(done, this.trade(trade.trade_no), 'N'), merchantId: refund.merchant_id };
    });
  }

  private refundRow(merchantId: string, outRequestNo: string): RefundRow | undefined {
    return this.db
      .prepare('select * from qr_refunds where merchant_id = ? and out_request_no = ?')
      .get(merchantId, outRequestNo) as RefundRow | undefined;
  }

  private refundByNo(refundNo: string): RefundRow {
    const row = this.db.prepare('select * from qr_refunds where refund_no = ?').get(refundNo) as
      | RefundRow
      | undefined;
    invariant(row, `refund ${refundNo} vanished`);
    return row;
  }

  private refundResult(r: RefundRow, t: TradeRow, fundChange: 'Y' | 'N'): RefundResult {
    return {
      outRequestNo: r.out_request_no,
      refundNo: r.refund_no,
      tradeNo: t.trade_no,
      outTradeNo: t.out_trade_no,
      refundAmount: r.amount_minor,
      currency: r.currency,
      refundStatus: r.status,
      refundFee: t.refunded_minor,
      feeReturned: r.status === 'FAIL' ? 0 : r.fee_back_minor,
      ...(r.fail_code ? { failCode: r.fail_code as RefundResult['failCode'] } : {}),
      fundChange,
      gmtCreate: r.created_at,
      ...(r.finished_at ? { gmtRefund: r.finished_at } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Notifications (an outbox: queued in the transaction that finished the refund)

  dueNotifications(limit = 50): NotificationDue[] {
    const rows = this.db
      .prepare(
        `select id, merchant_id, out_request_no, attempts from qr_notifications
         where delivered_at is null and gave_up_at is null and next_attempt_at <= ?
         order by next_attempt_at limit ?`,
      )
      .all(this.now().toISOString(), Math.min(limit, MAX_BATCH)) as {
      id: number;
      merchant_id: string;
      out_request_no: string;
      attempts: number;
    }[];
    return rows.map((n) => {
      const r = this.refundRow(n.merchant_id, n.out_request_no);
      invariant(
        r && r.status !== 'PROCESSING' && r.finished_at,
        `notification ${n.id} for an unfinished refund`,
      );
      const t = this.trade(r.trade_no);
      return {
        id: n.id,
        merchantId: n.merchant_id,
        attempts: n.attempts,
        payload: {
          notifyType: 'refund',
          notifyId: `rn${r.refund_no}`,
          merchantId: r.merchant_id,
          outRequestNo: r.out_request_no,
          refundNo: r.refund_no,
          tradeNo: t.trade_no,
          outTradeNo: t.out_trade_no,
          refundStatus: r.status === 'SUCCESS' ? 'SUCCESS' : 'FAIL',
          refundAmount: r.amount_minor,
          currency: r.currency,
          refundFee: t.refunded_minor,
          ...(r.fail_code ? { failCode: r.fail_code as RefundNotification['failCode'] } : {}),
          gmtRefund: r.finished_at,
        },
      };
    });
  }

  markNotified(id: number): void {
    this.db
      .prepare(
        'update qr_notifications set delivered_at = ?, attempts = attempts + 1, last_error = null where id = ?',
      )
      .run(this.now().toISOString(), id);
  }

  /** Record a failed delivery: try again at `nextAttemptAt`, or give up when it is null. */
  markNotifyFailed(id: number, error: string, nextAttemptAt: Date | null): void {
    const at = this.now().toISOString();
    this.db
      .prepare(
        `update qr_notifications set attempts = attempts + 1, last_error = ?,
           next_attempt_at = coalesce(?, next_attempt_at), gave_up_at = case when ? is null then ? else null end
         where id = ?`,
      )
      .run(
        error.slice(0, 500),
        nextAttemptAt?.toISOString() ?? null,
        nextAttemptAt?.toISOString() ?? null,
        at,
        id,
      );
  }

  notificationState(merchantId: string, outRequestNo: string) {
    return this.db
      .prepare(
        'select attempts, delivered_at as deliveredAt, gave_up_at as gaveUpAt, last_error as lastError from qr_notifications where merchant_id = ? and out_request_no = ?',
      )
      .get(merchantId, outRequestNo) as
      | { attempts: number; deliveredAt: string | null; gaveUpAt: string | null; lastError: string | null }
      | undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Batch settlement (our extension for terminal batches; answered again for a repeated batchNo)

  settleBatch(merchantId: string, biz: SettleBiz): SettleResult {
    return this.tx(() => {
      const done = this.db
        .prepare(
          'select totals_json from qr_batches where merchant_id = ? and terminal_id = ? and batch_no = ?',
        )
        .get(merchantId, biz.terminalId, biz.batchNo) as { totals_json: string } | undefined;
      if (done) return JSON.parse(done.totals_json) as SettleResult;
      const bucket = (sql: string) => {
        const r = this.db.prepare(sql).get(merchantId, biz.terminalId) as { n: number; s: number };
        return { count: r.n, amount: r.s };
      };
      const totals: SettleResult = {
        terminalId: biz.terminalId,
        batchNo: biz.batchNo,
        sales: bucket(
          `select count(*) as n, coalesce(sum(amount_minor), 0) as s from qr_trades
           where merchant_id = ? and terminal_id = ? and batch_no is null and cancelled_at is null`,
        ),
        voids: bucket(
          `select count(*) as n, coalesce(sum(amount_minor), 0) as s from qr_trades
           where merchant_id = ? and terminal_id = ? and batch_no is null and cancelled_at is not null`,
        ),
        refunds: bucket(
          `select count(*) as n, coalesce(sum(amount_minor), 0) as s from qr_refunds
           where merchant_id = ? and terminal_id = ? and batch_no is null and status = 'SUCCESS'`,
        ),
      };
      this.db
        .prepare(
          'update qr_trades set batch_no = ? where merchant_id = ? and terminal_id = ? and batch_no is null',
        )
        .run(biz.batchNo, merchantId, biz.terminalId);
      this.db
        .prepare(
          "update qr_refunds set batch_no = ? where merchant_id = ? and terminal_id = ? and batch_no is null and status = 'SUCCESS'",
        )
        .run(biz.batchNo, merchantId, biz.terminalId);
      this.db
        .prepare(
          'insert into qr_batches (merchant_id, terminal_id, batch_no, totals_json, at) values (?, ?, ?, ?, ?)',
        )
        .run(merchantId, biz.terminalId, biz.batchNo, JSON.stringify(totals), this.now().toISOString());
      return totals;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Effects and invariants

  private effect(reference: string, kind: EffectKind, amount: number, merchantId: string, at: string): void {
    // The unique key (kind, merchant, reference) makes a second effect for one request impossible.
    this.db
      .prepare(
        'insert into qr_effects (reference, kind, amount_minor, merchant_id, at) values (?, ?, ?, ?, ?)',
      )
      .run(reference, kind, amount, merchantId, at);
  }

  /** Every financial effect applied (at or after `since`, an ISO time), oldest first; cancelled sales left out unless asked. */
  effects(since?: string, opts: { includeReversed?: boolean } = {}): (Effect & { reversedAt?: string })[] {
    const rows = this.db
      .prepare(
        `select reference, kind, amount_minor, merchant_id, at, reversed_at from qr_effects
         where (? is null or at >= ?) and (? = 1 or reversed_at is null) order by seq`,
      )
      .all(since ?? null, since ?? null, opts.includeReversed ? 1 : 0) as {
      reference: string;
      kind: EffectKind;
      amount_minor: number;
      merchant_id: string;
      at: string;
      reversed_at: string | null;
    }[];
    return rows.map((r) => ({
      reference: r.reference,
      kind: r.kind,
      amount: r.amount_minor,
      merchantId: r.merchant_id,
      at: r.at,
      ...(r.reversed_at ? { reversedAt: r.reversed_at } : {}),
    }));
  }

  /**
   * The books' invariants, checked from scratch (TigerBeetle style: sums must balance). Returns
   * every violation found; an empty list means the books are consistent.
   */
  audit(): string[] {
    const v: string[] = [];
    const q = <T>(sql: string) => this.db.prepare(sql).all() as T[];
    for (const m of q<{ merchant_id: string; held_minor: number; should: number }>(
      `select m.merchant_id, m.held_minor, coalesce((select sum(amount_minor - fee_back_minor) from qr_refunds r
         where r.merchant_id = m.merchant_id and r.status = 'PROCESSING'), 0) as should from qr_merchants m`,
    )) {
      if (m.held_minor !== m.should)
        v.push(`merchant ${m.merchant_id} holds ${m.held_minor}, processing refunds need ${m.should}`);
    }
    for (const t of q<TradeRow & { ok_refunded: number; ok_processing: number; fee_back: number }>(
      `select t.*,
         coalesce((select sum(amount_minor) from qr_refunds r where r.trade_no = t.trade_no and r.status = 'SUCCESS'), 0) as ok_refunded,
         coalesce((select sum(amount_minor) from qr_refunds r where r.trade_no = t.trade_no and r.status = 'PROCESSING'), 0) as ok_processing,
         coalesce((select sum(fee_back_minor) from qr_refunds r where r.trade_no = t.trade_no and r.status = 'SUCCESS'), 0) as fee_back
       from qr_trades t`,
    )) {
      if (t.refunded_minor !== t.ok_refunded)
        v.push(`trade ${t.trade_no} refunded ${t.refunded_minor} ≠ ${t.ok_refunded}`);
      if (t.processing_minor !== t.ok_processing)
        v.push(`trade ${t.trade_no} processing ${t.processing_minor} ≠ ${t.ok_processing}`);
      if (t.cancelled_at === null && t.fee_returned_minor !== t.fee_back) {
        v.push(`trade ${t.trade_no} fee returned ${t.fee_returned_minor} ≠ ${t.fee_back}`);
      }
      if (t.cancelled_at !== null && t.ok_refunded + t.ok_processing > 0)
        v.push(`cancelled trade ${t.trade_no} has refunds`);
    }
    for (const r of q<{
      out_request_no: string;
      status: string;
      n: number;
      amount: number | null;
      amount_minor: number;
    }>(
      `select r.out_request_no, r.status, r.amount_minor, count(e.seq) as n, max(e.amount_minor) as amount
       from qr_refunds r left join qr_effects e
         on e.kind = 'qr_refund' and e.merchant_id = r.merchant_id and e.reference = r.out_request_no
       group by r.refund_no`,
    )) {
      const want = r.status === 'SUCCESS' ? 1 : 0;
      if (r.n !== want) v.push(`refund ${r.out_request_no} (${r.status}) has ${r.n} effects`);
      if (r.n === 1 && r.amount !== r.amount_minor)
        v.push(`refund ${r.out_request_no} effect amount ${r.amount} ≠ ${r.amount_minor}`);
    }
    const orphan = q<{ n: number }>(
      `select count(*) as n from qr_effects e where e.kind = 'qr_refund' and not exists
         (select 1 from qr_refunds r where r.merchant_id = e.merchant_id and r.out_request_no = e.reference)`,
    )[0];
    if (orphan && orphan.n > 0) v.push(`${orphan.n} refund effects without a refund`);
    // Conservation: money is only moved, never made — consumers + merchants + fees kept = funded − paid out.
    const sums = q<{ consumers: number; merchants: number; fees: number; funded: number }>(
      `select (select coalesce(sum(balance_minor), 0) from qr_consumers) as consumers,
              (select coalesce(sum(balance_minor), 0) from qr_merchants) as merchants,
              (select coalesce(sum(fee_minor - fee_returned_minor), 0) from qr_trades) as fees,
              (select coalesce(max(value), 0) from qr_meta where key = 'funded_minor') as funded`,
    )[0];
    if (sums && sums.consumers + sums.merchants + sums.fees !== sums.funded) {
      v.push(
        `money not conserved: ${sums.consumers} + ${sums.merchants} + ${sums.fees} ≠ funded ${sums.funded}`,
      );
    }
    return v;
  }
}

function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}

function assertAmount(n: number, allowZero: boolean): void {
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1))
    throw new Error(`amount must be an integer number of fen, not ${n}`);
}

/** A 28-digit number like Alipay's trade_no: date, a 2-digit kind, 18 random digits. */
function newNumber(now: Date, kind: string): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  let digits = '';
  for (let i = 0; i < 3; i++) digits += String(randomInt(0, 1_000_000)).padStart(6, '0');
  return `${day}${kind}${digits}`;
}

/** Enough to recognise a buyer on a receipt, nothing more (like Alipay's buyer_logon_id 159****5620). */
function maskUser(userId: string): string {
  return userId.length <= 4 ? '****' : `${userId.slice(0, 2)}****${userId.slice(-2)}`;
}
