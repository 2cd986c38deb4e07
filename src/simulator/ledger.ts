import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { responseCodes } from '../network/port.js';
import { reviewRefund } from './review.js';

/**
 * The simulated network's own books: acquirer + scheme + issuer in one persistent SQLite file,
 * separate from Refund Desk's store (it is the other side of the ledger). Synchronous
 * better-sqlite3 transactions: one message's effects are applied whole or not at all.
 */
export type TxnKind = 'sale' | 'void' | 'refund';

export interface TxnRow {
  rrn: string;
  merchant_id: string;
  terminal_id: string;
  stan: string;
  batch_no: string;
  kind: TxnKind;
  amount_minor: number;
  currency: string;
  card_hash: string | null;
  original_rrn: string | null;
  status: 'approved' | 'declined' | 'reversed' | 'voided';
  response_code: string;
  reason: string | null;
  request_key: string;
  created_at: string;
  settled_batch: string | null;
}

export interface Effect {
  reference: string;
  kind: 'sale' | 'refund' | 'qr_sale' | 'qr_refund';
  amount: number;
  merchantId: string;
  at: string;
}

/** Demo terminal master key (double-length 3DES) shared with the demo terminal. */
export const DEMO_TMK = '0123456789ABCDEFFEDCBA9876543210';

export class SimLedger {
  readonly db: Database.Database;
  private rrnCounter = 0;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      create table if not exists merchants (id text primary key, name text not null, balance_minor integer not null);
      create table if not exists cardholders (card_hash text primary key, balance_minor integer not null);
      create table if not exists terminals (
        id text primary key, merchant_id text not null, tmk text not null,
        mac_key text, pin_key text, signed_in_at text);
      create table if not exists txns (
        rrn text primary key, merchant_id text not null, terminal_id text not null, stan text not null,
        batch_no text not null, kind text not null, amount_minor integer not null, currency text not null,
        card_hash text, original_rrn text, status text not null, response_code text not null, reason text,
        request_key text not null unique, response_hex text, created_at text not null, settled_batch text);
      create index if not exists txns_original on txns(original_rrn);
      create index if not exists txns_terminal on txns(terminal_id, batch_no, stan);
      create table if not exists effects (
        seq integer primary key autoincrement, reference text not null, kind text not null,
        amount_minor integer not null, merchant_id text not null, at text not null, reversed_at text);
      create table if not exists settlements (
        merchant_id text not null, terminal_id text not null, batch_no text not null, balanced integer not null,
        totals_json text not null, at text not null, primary key (terminal_id, batch_no));
    `);
    const row = this.db.prepare('select count(*) as n from txns').get() as { n: number };
    this.rrnCounter = row.n;
  }

  close(): void {
    this.db.close();
  }

  static cardHash(pan: string): string {
    return createHash('sha256').update(`sim-card:${pan}`).digest('hex');
  }

  /** Retrieval reference number (field 37): 12 digits, unique across restarts. */
  nextRrn(now: Date): string {
    this.rrnCounter++;
    const day = now.toISOString().slice(5, 10).replace('-', '');
    return `${day}${String(this.rrnCounter % 1e8).padStart(8, '0')}`;
  }

  ensureMerchant(id: string, name: string, balanceMinor: number): void {
    this.db
      .prepare('insert or ignore into merchants (id, name, balance_minor) values (?, ?, ?)')
      .run(id, name, balanceMinor);
  }

  ensureTerminal(id: string, merchantId: string, tmk = DEMO_TMK): void {
    this.db
      .prepare('insert or ignore into terminals (id, merchant_id, tmk) values (?, ?, ?)')
      .run(id, merchantId, tmk);
  }

  terminal(id: string): { id: string; merchant_id: string; tmk: string; mac_key: string | null } | undefined {
    return this.db.prepare('select * from terminals where id = ?').get(id) as never;
  }

  setWorkingKeys(terminalId: string, macKey: string, pinKey: string, at: Date): void {
    this.db
      .prepare('update terminals set mac_key = ?, pin_key = ?, signed_in_at = ? where id = ?')
      .run(macKey, pinKey, at.toISOString(), terminalId);
  }

  merchantBalance(id: string): number {
    const r = this.db.prepare('select balance_minor from merchants where id = ?').get(id) as
      | { balance_minor: number }
      | undefined;
    return r?.balance_minor ?? 0;
  }

  /** A retransmitted request (same terminal, STAN and message type) gets the first answer again. */
  previousAnswer(requestKey: string): { response_hex: string | null; rrn: string } | undefined {
    return this.db
      .prepare('select response_hex, rrn from txns where request_key = ?')
      .get(requestKey) as never;
  }

  saveAnswer(rrn: string, responseHex: string): void {
    this.db.prepare('update txns set response_hex = ? where rrn = ?').run(responseHex, rrn);
  }

  txn(rrn: string): TxnRow | undefined {
    return this.db.prepare('select * from txns where rrn = ?').get(rrn) as TxnRow | undefined;
  }

  /** A trace number is unique only within a terminal's batch: it comes round after 999999. */
  findByStan(terminalId: string, stan: string, batchNo?: string): TxnRow | undefined {
    return this.db
      .prepare(
        `select * from txns where terminal_id = ? and stan = ? and (? is null or batch_no = ?)
         order by created_at desc limit 1`,
      )
      .get(terminalId, stan, batchNo ?? null, batchNo ?? null) as TxnRow | undefined;
  }

  private insertTxn(t: TxnRow): void {
    this.db
      .prepare(
        `insert into txns (rrn, merchant_id, terminal_id, stan, batch_no, kind, amount_minor, currency, card_hash,
          original_rrn, status, response_code, reason, request_key, created_at)
         values (@rrn, @merchant_id, @terminal_id, @stan, @batch_no, @kind, @amount_minor, @currency, @card_hash,
          @original_rrn, @status, @response_code, @reason, @request_key, @created_at)`,
      )
      .run(t);
  }

  /** Record one transaction of a terminal request with its outcome; returns the stored row. */
  private record(
    req: {
      merchantId: string;
      terminalId: string;
      stan: string;
      batchNo: string;
      amountMinor: number;
      requestKey: string;
      now: Date;
    },
    kind: TxnKind,
    code: string,
    extra: { currency: string; cardHash: string | null; originalRrn: string | null; reason: string | null },
  ): TxnRow {
    const row: TxnRow = {
      rrn: this.nextRrn(req.now),
      merchant_id: req.merchantId,
      terminal_id: req.terminalId,
      stan: req.stan,
      batch_no: req.batchNo,
      kind,
      amount_minor: req.amountMinor,
      currency: extra.currency,
      card_hash: extra.cardHash,
      original_rrn: extra.originalRrn,
      status: code === responseCodes.approved ? 'approved' : 'declined',
      response_code: code,
      reason: extra.reason,
      request_key: req.requestKey,
      created_at: req.now.toISOString(),
      settled_batch: null,
    };
    this.insertTxn(row);
    return row;
  }

  private effect(
    reference: string,
    kind: Effect['kind'],
    amount: number,
    merchantId: string,
    at: string,
  ): void {
    this.db
      .prepare('insert into effects (reference, kind, amount_minor, merchant_id, at) values (?, ?, ?, ?, ?)')
      .run(reference, kind, amount, merchantId, at);
  }

  private moveMerchant(merchantId: string, delta: number): void {
    this.db
      .prepare('update merchants set balance_minor = balance_minor + ? where id = ?')
      .run(delta, merchantId);
  }

  private moveCardholder(cardHash: string, delta: number): void {
    this.db
      .prepare(
        `insert into cardholders (card_hash, balance_minor) values (?, ?)
         on conflict(card_hash) do update set balance_minor = balance_minor + excluded.balance_minor`,
      )
      .run(cardHash, delta);
  }

  /** 消费: the issuer debits the cardholder, the acquirer credits the merchant. */
  sale(req: {
    merchantId: string;
    terminalId: string;
    stan: string;
    batchNo: string;
    amountMinor: number;
    currency: string;
    cardHash: string;
    requestKey: string;
    issuerDown: boolean;
    now: Date;
  }): TxnRow {
    return this.db.transaction(() => {
      const at = req.now.toISOString();
      const code = req.issuerDown ? responseCodes.issuerUnavailable : responseCodes.approved;
      const row = this.record(req, 'sale', code, {
        currency: req.currency,
        cardHash: req.cardHash,
        originalRrn: null,
        reason: null,
      });
      const rrn = row.rrn;
      if (code === '00') {
        this.moveCardholder(req.cardHash, -req.amountMinor);
        this.moveMerchant(req.merchantId, req.amountMinor);
        this.effect(rrn, 'sale', req.amountMinor, req.merchantId, at);
      }
      return row;
    })();
  }

  /** 撤销: cancels an unsettled sale of the same terminal; no money moves in the end. */
  void(req: {
    merchantId: string;
    terminalId: string;
    stan: string;
    batchNo: string;
    originalRrn: string;
    amountMinor: number;
    requestKey: string;
    now: Date;
  }): TxnRow {
    return this.db.transaction(() => {
      const sale = this.txn(req.originalRrn);
      const at = req.now.toISOString();
      let code: string = responseCodes.approved;
      if (sale?.kind !== 'sale' || sale.status !== 'approved') code = responseCodes.originalNotFound;
      else if (sale.settled_batch !== null || sale.terminal_id !== req.terminalId)
        code = responseCodes.invalidTransaction;
      else if (sale.amount_minor !== req.amountMinor) code = responseCodes.invalidAmount;
      else if (this.refundedOf(sale.rrn) > 0) code = responseCodes.invalidTransaction;
      const row = this.record(req, 'void', code, {
        currency: sale?.currency ?? 'CNY',
        cardHash: sale?.card_hash ?? null,
        originalRrn: req.originalRrn,
        reason: null,
      });
      if (code === '00' && sale) {
        this.undoSale(sale, at);
        // A voided sale is out of the batch totals and can be neither voided nor refunded again.
        this.db.prepare("update txns set status = 'voided' where rrn = ?").run(sale.rrn);
      }
      return row;
    })();
  }

  private undoSale(sale: TxnRow, at: string): void {
    if (sale.card_hash) this.moveCardholder(sale.card_hash, sale.amount_minor);
    this.moveMerchant(sale.merchant_id, -sale.amount_minor);
    this.db
      .prepare("update effects set reversed_at = ? where reference = ? and kind = 'sale'")
      .run(at, sale.rrn);
  }

  refundedOf(saleRrn: string): number {
    const r = this.db
      .prepare(
        "select coalesce(sum(amount_minor), 0) as s from txns where original_rrn = ? and kind = 'refund' and status = 'approved'",
      )
      .get(saleRrn) as { s: number };
    return r.s;
  }

  /** 退货: seed 004's review, then the money goes back to the card by the original route. */
  refund(req: {
    merchantId: string;
    terminalId: string;
    stan: string;
    batchNo: string;
    originalRrn: string;
    amountMinor: number;
    reason: { code: string; note: string | null };
    requestKey: string;
    issuerDown: boolean;
    now: Date;
  }): TxnRow {
    return this.db.transaction(() => {
      const sale = this.txn(req.originalRrn);
      const at = req.now.toISOString();
      const code = req.issuerDown
        ? responseCodes.issuerUnavailable
        : reviewRefund({
            sale:
              sale?.kind === 'sale'
                ? { completed: sale.status === 'approved', amountMinor: sale.amount_minor }
                : null,
            refundedMinor: sale ? this.refundedOf(sale.rrn) : 0,
            amountMinor: req.amountMinor,
            reason: req.reason,
            merchantBalanceMinor: this.merchantBalance(req.merchantId),
          });
      const row = this.record(req, 'refund', code, {
        currency: sale?.currency ?? 'CNY',
        cardHash: sale?.card_hash ?? null,
        originalRrn: req.originalRrn,
        reason: `${req.reason.code}${req.reason.note ? `:${req.reason.note}` : ''}`,
      });
      const rrn = row.rrn;
      if (code === '00' && sale) {
        this.moveMerchant(req.merchantId, -req.amountMinor);
        if (sale.card_hash) this.moveCardholder(sale.card_hash, req.amountMinor);
        this.effect(rrn, 'refund', req.amountMinor, req.merchantId, at);
      }
      return row;
    })();
  }

  /**
   * 冲正: undo whatever the original request (found by terminal + STAN) did, if it did anything.
   * Acknowledged either way, so the terminal can stop retrying.
   */
  reverse(req: { terminalId: string; originalStan: string; batchNo?: string; now: Date }): {
    found: boolean;
    reversed: boolean;
  } {
    return this.db.transaction(() => {
      const t = this.findByStan(req.terminalId, req.originalStan, req.batchNo);
      if (!t) return { found: false, reversed: false };
      if (t.status !== 'approved' || t.settled_batch !== null) return { found: true, reversed: false };
      const at = req.now.toISOString();
      this.db.prepare("update txns set status = 'reversed' where rrn = ?").run(t.rrn);
      if (t.kind === 'sale') this.undoSale(t, at);
      if (t.kind === 'refund') {
        this.moveMerchant(t.merchant_id, t.amount_minor);
        if (t.card_hash) this.moveCardholder(t.card_hash, -t.amount_minor);
        this.db
          .prepare("update effects set reversed_at = ? where reference = ? and kind = 'refund'")
          .run(at, t.rrn);
      }
      if (t.kind === 'void' && t.original_rrn) {
        const sale = this.txn(t.original_rrn);
        if (sale) {
          this.db.prepare("update txns set status = 'approved' where rrn = ?").run(sale.rrn);
          if (sale.card_hash) this.moveCardholder(sale.card_hash, -sale.amount_minor);
          this.moveMerchant(sale.merchant_id, sale.amount_minor);
          this.db
            .prepare("update effects set reversed_at = null where reference = ? and kind = 'sale'")
            .run(sale.rrn);
        }
      }
      return { found: true, reversed: true };
    })();
  }

  /** The network's totals of a terminal's open batch: sales (debits) and refunds (credits). */
  batchTotals(terminalId: string): {
    debitCount: number;
    debitMinor: number;
    creditCount: number;
    creditMinor: number;
  } {
    const rows = this.db
      .prepare(
        "select kind, count(*) as n, coalesce(sum(amount_minor),0) as s from txns where terminal_id = ? and settled_batch is null and status = 'approved' and kind in ('sale','refund') group by kind",
      )
      .all(terminalId) as { kind: string; n: number; s: number }[];
    const sale = rows.find((r) => r.kind === 'sale');
    const refund = rows.find((r) => r.kind === 'refund');
    return {
      debitCount: sale?.n ?? 0,
      debitMinor: sale?.s ?? 0,
      creditCount: refund?.n ?? 0,
      creditMinor: refund?.s ?? 0,
    };
  }

  closeBatch(
    merchantId: string,
    terminalId: string,
    batchNo: string,
    balanced: boolean,
    totals: unknown,
    now: Date,
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          "update txns set settled_batch = ? where terminal_id = ? and settled_batch is null and status = 'approved'",
        )
        .run(batchNo, terminalId);
      this.db
        .prepare(
          'insert or replace into settlements (merchant_id, terminal_id, batch_no, balanced, totals_json, at) values (?, ?, ?, ?, ?, ?)',
        )
        .run(merchantId, terminalId, batchNo, balanced ? 1 : 0, JSON.stringify(totals), now.toISOString());
    })();
  }

  /** Every financial effect still standing (reversed ones excluded unless `all`). */
  effects(opts: { all?: boolean; merchantId?: string } = {}): (Effect & { reversedAt?: string | null })[] {
    const rows = this.db
      .prepare(
        `select reference, kind, amount_minor, merchant_id, at, reversed_at from effects
         where (? = 1 or reversed_at is null) and (? is null or merchant_id = ?) order by seq`,
      )
      .all(opts.all ? 1 : 0, opts.merchantId ?? null, opts.merchantId ?? null) as {
      reference: string;
      kind: Effect['kind'];
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
      ...(opts.all ? { reversedAt: r.reversed_at } : {}),
    }));
  }

  /** The daily settlement file (CSV) of a merchant: every approved card transaction of the day. */
  settlementCsv(merchantId: string, day: string): string {
    const rows = this.db
      .prepare(
        `select rrn, terminal_id, stan, batch_no, kind, amount_minor, currency, original_rrn, status, response_code, created_at
         from txns where merchant_id = ? and substr(created_at, 1, 10) = ? and status in ('approved', 'reversed', 'voided') order by created_at, rrn`,
      )
      .all(merchantId, day) as Record<string, string | number | null>[];
    const header =
      'rrn,terminal_id,stan,batch_no,kind,amount_minor,currency,original_rrn,status,response_code,created_at';
    const esc = (v: string | number | null) => (v === null ? '' : String(v).replace(/[,\n"]/g, ' '));
    return `${[
      header,
      ...rows.map((r) =>
        header
          .split(',')
          .map((k) => esc(r[k] ?? null))
          .join(','),
      ),
    ].join('\n')}\n`;
  }
}
