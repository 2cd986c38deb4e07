/**
 * Books that have grown: `payments` sales of the demo merchant, each with one succeeded refund (and
 * its history row), written straight into a SQLite store while its server is stopped — bulk SQL
 * in big transactions with prepared statements, since creating a million refunds through the API
 * would take hours. The rows are what the product itself would hold: the payment's refunded total
 * equals its refund, the refund's net amount and fee share follow the amounts, every settled row
 * points at a settlement, the merchant's funds and daily refund totals include them.
 *
 * Four slices have a purpose (the rest is history spread over a year, settled, card and cash):
 *   recon-small / recon-large  card sales + original-route refunds with network references on two
 *                              days of their own: the network's settlement file of each day holds
 *                              exactly them (reconciliation of 10k and 100k lines).
 *   batch-small / batch-large  cash sales + cash refunds on two terminals of their own, unsettled:
 *                              the open batches (settlement of 10k and 100k transactions).
 *
 * The columns are matched against the live table: a column the product adds later is left to its
 * default, and one that is NOT NULL without a default stops the seed with its name.
 */
import Database from 'better-sqlite3';
import { DEMO_MERCHANT_ID, DEMO_TERMINAL_ID } from './stores.js';

export const SETTLEMENT_FILE_HEADER =
  'rrn,terminal_id,stan,batch_no,kind,amount_minor,currency,original_rrn,status,response_code,created_at';

export interface GrowthPlan {
  payments: number;
  /** Lines of the two settlement files (sales + refunds): 2 × the sales of each recon day. */
  reconLines: [number, number];
  /** Transactions of the two open batches (sales + refunds). */
  batchTransactions: [number, number];
}

export interface Slice {
  name: string;
  from: number;
  to: number;
}

export interface GrowthSeed {
  plan: GrowthPlan;
  slices: Slice[];
  reconDays: [string, string];
  batchTerminals: [string, string];
  /** The seed's clock: settlementFile needs the same one. */
  seededAt: Date;
  seconds: number;
  rows: { payments: number; refunds: number; refundEvents: number };
}

const DAY_MS = 86_400_000;
/** Seeded history ends this many days before today, so it never touches today's daily total. */
const HISTORY_START_DAYS_AGO = 2;
const HISTORY_DAYS = 360;
const RECON_DAYS_AGO: [number, number] = [400, 401];
const TX_ROWS = 50_000;

const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const orderNoOf = (n: number) => `G${pad(n, 9)}`;
const paymentIdOf = (n: number) => `pay_G${pad(n, 9)}`;
const refundIdOf = (n: number) => `re_G${pad(n, 9)}`;
const saleRrnOf = (n: number) => `S${pad(n, 11)}`;
const refundRrnOf = (n: number) => `R${pad(n, 11)}`;
const amountOf = (n: number) => 1_000 + ((n * 7_919) % 99_000);
const refundAmountOf = (n: number) => 100 + (n % 7) * 50;
const cardFeeOf = (amount: number) => Math.floor((amount * 60) / 10_000);

function utcMidnight(daysAgo: number, now: Date): number {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return today - daysAgo * DAY_MS;
}

/** The slices of a plan, in index order. */
export function slicesOf(plan: GrowthPlan): Slice[] {
  const sizes: [string, number][] = [
    ['recon-small', plan.reconLines[0] / 2],
    ['recon-large', plan.reconLines[1] / 2],
    ['batch-small', plan.batchTransactions[0] / 2],
    ['batch-large', plan.batchTransactions[1] / 2],
  ];
  const slices: Slice[] = [];
  let at = 0;
  for (const [name, size] of sizes) {
    slices.push({ name, from: at, to: at + size });
    at += size;
  }
  if (at > plan.payments)
    throw new Error(`the plan needs ${at} payments for its slices, has ${plan.payments}`);
  slices.push({ name: 'history', from: at, to: plan.payments });
  return slices;
}

interface Row {
  payment: Record<string, unknown>;
  refund: Record<string, unknown>;
  event: Record<string, unknown>;
  amount: number;
  fee: number;
  net: number;
}

/** Payment n and its refund, as the product would have written them. */
function rowsOf(
  n: number,
  slice: string,
  seed: { now: Date; reconDays: [number, number]; batchTerminals: [string, string] },
): Row {
  const inRecon = slice === 'recon-small' || slice === 'recon-large';
  const inBatch = slice === 'batch-small' || slice === 'batch-large';
  const day = inRecon
    ? seed.reconDays[slice === 'recon-small' ? 0 : 1]
    : utcMidnight(HISTORY_START_DAYS_AGO + (n % HISTORY_DAYS), seed.now);
  // 00:10 to 23:30 UTC: far from the day's edges, so the settlement-day look-back never mixes days.
  const capturedMs = day + 600_000 + ((n * 7_001) % 83_000) * 1_000 + (n % 1_000);
  const refundedMs = capturedMs + 60_000;
  const captured = new Date(capturedMs).toISOString();
  const refunded = new Date(refundedMs).toISOString();
  const shanghaiDay = new Date(refundedMs + 8 * 3_600_000).toISOString().slice(0, 10);
  const card = inRecon || (!inBatch && n % 10 < 7);
  const terminal = inBatch ? seed.batchTerminals[slice === 'batch-small' ? 0 : 1] : DEMO_TERMINAL_ID;
  const settlementId = inBatch ? null : 'stl_GSEED';
  const amount = amountOf(n);
  const fee = card ? cardFeeOf(amount) : 0;
  const refundAmount = refundAmountOf(n);
  const feeReturned = Math.floor((fee * refundAmount) / amount);
  const payment = {
    id: paymentIdOf(n),
    merchant_id: DEMO_MERCHANT_ID,
    terminal_id: terminal,
    order_no: orderNoOf(n),
    kind: 'sale',
    parent_payment_id: null,
    amount_minor: amount,
    currency: 'CNY',
    method: card ? 'card' : 'cash',
    fee_minor: fee,
    card_bin: card ? '622202' : null,
    card_last4: card ? pad(n % 10_000, 4) : null,
    card_token: null,
    voided: 0,
    voided_at: null,
    settled: inBatch ? 0 : 1,
    settlement_id: settlementId,
    refunded_minor: refundAmount,
    in_flight_minor: 0,
    network_reference: card ? saleRrnOf(n) : null,
    captured_at: captured,
    created_at: captured,
    updated_at: refunded,
  };
  const refund = {
    id: refundIdOf(n),
    merchant_id: DEMO_MERCHANT_ID,
    payment_id: payment.id,
    order_no: payment.order_no,
    terminal_id: terminal,
    amount_minor: refundAmount,
    fee_minor: 0,
    net_amount_minor: refundAmount,
    merchant_fee_returned_minor: feeReturned,
    currency: 'CNY',
    reason_code: 'quality_issue',
    reason_note: null,
    method: card ? 'original' : 'cash',
    status: 'succeeded',
    items_json: '[]',
    approvals_json: JSON.stringify([{ operatorNo: '00', at: refunded }]),
    consumer_enc: null,
    consumer_masked_json: null,
    delayed: 0,
    expected_arrival: shanghaiDay,
    network_reference: card ? refundRrnOf(n) : null,
    response_code: card ? '00' : null,
    created_by: 'op:01',
    settlement_id: settlementId,
    created_day: shanghaiDay,
    created_at: refunded,
    updated_at: refunded,
    handed_off_at: card ? refunded : null,
  };
  const event = {
    refund_id: refund.id,
    merchant_id: DEMO_MERCHANT_ID,
    from_status: null,
    to_status: 'succeeded',
    actor: 'op:01',
    note: null,
    at: refunded,
  };
  return { payment, refund, event, amount, fee, net: refundAmount };
}

/** An insert of the columns both `sample` and the live table have; fails on a required column we lack. */
function inserter(db: Database.Database, table: string, sample: Record<string, unknown>) {
  const info = db.prepare(`pragma table_info(${table})`).all() as {
    name: string;
    notnull: number;
    dflt_value: unknown;
    pk: number;
  }[];
  if (info.length === 0) throw new Error(`growth seed: table ${table} does not exist`);
  const known = new Set(Object.keys(sample));
  const missing = info.filter(
    (c) => c.notnull === 1 && c.dflt_value === null && c.pk === 0 && !known.has(c.name),
  );
  if (missing.length > 0)
    throw new Error(
      `growth seed: ${table} has required columns the seed does not know: ${missing.map((c) => c.name).join(', ')}`,
    );
  const columns = info.map((c) => c.name).filter((c) => known.has(c));
  const stmt = db.prepare(
    `insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
  );
  return (row: Record<string, unknown>) => stmt.run(...columns.map((c) => row[c] ?? null));
}

/** Seed the growth plan into the (stopped) SQLite store at `path`, which the product has migrated and demo-seeded. */
export function seedGrowth(path: string, plan: GrowthPlan, now = new Date()): GrowthSeed {
  const t0 = performance.now();
  const slices = slicesOf(plan);
  const reconDays: [number, number] = [
    utcMidnight(RECON_DAYS_AGO[0], now),
    utcMidnight(RECON_DAYS_AGO[1], now),
  ];
  const batchTerminals: [string, string] = ['TG000010', 'TG000100'];
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // The seed itself need not survive a power cut: it is checkpointed and synced at the end.
    db.pragma('synchronous = OFF');
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -262144');
    const iso = now.toISOString();
    const sample = rowsOf(0, 'history', { now, reconDays, batchTerminals });
    const insertPayment = inserter(db, 'payments', sample.payment);
    const insertRefund = inserter(db, 'refunds', sample.refund);
    const insertEvent = inserter(db, 'refund_events', sample.event);
    const insertTerminal = inserter(db, 'terminals', {
      id: '',
      merchant_id: '',
      name: '',
      batch_no: 1,
      created_at: '',
    });
    const insertSettlement = inserter(db, 'settlements', {
      id: '',
      merchant_id: '',
      terminal_id: '',
      batch_no: 0,
      totals_json: '',
      network_totals_json: '',
      balanced: 1,
      created_by: '',
      created_at: '',
    });
    db.transaction(() => {
      for (const [i, id] of batchTerminals.entries())
        insertTerminal({
          id,
          merchant_id: DEMO_MERCHANT_ID,
          name: `Growth batch ${i + 1}`,
          batch_no: 1,
          created_at: iso,
        });
      insertSettlement({
        id: 'stl_GSEED',
        merchant_id: DEMO_MERCHANT_ID,
        terminal_id: DEMO_TERMINAL_ID,
        batch_no: 0,
        totals_json: '{}',
        network_totals_json: '{}',
        balanced: 1,
        created_by: 'bench:growth-seed',
        created_at: iso,
      });
    })();
    let funds = 0;
    for (const slice of slices) {
      for (let from = slice.from; from < slice.to; from += TX_ROWS) {
        const to = Math.min(slice.to, from + TX_ROWS);
        funds += db.transaction(() => {
          let delta = 0;
          for (let n = from; n < to; n++) {
            const r = rowsOf(n, slice.name, { now, reconDays, batchTerminals });
            insertPayment(r.payment);
            insertRefund(r.refund);
            insertEvent(r.event);
            delta += r.amount - r.fee - r.net;
          }
          return delta;
        })();
      }
    }
    db.transaction(() => {
      db.prepare('update merchants set available_funds_minor = available_funds_minor + ? where id = ?').run(
        funds,
        DEMO_MERCHANT_ID,
      );
      db.prepare(
        `insert into merchant_day_totals (merchant_id, day, amount_minor)
         select merchant_id, created_day, sum(amount_minor) from refunds where id like 're\\_G%' escape '\\'
         group by merchant_id, created_day
         on conflict (merchant_id, day) do update set amount_minor = merchant_day_totals.amount_minor + excluded.amount_minor`,
      ).run();
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('optimize');
  } finally {
    db.close();
  }
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return {
    plan,
    slices,
    reconDays: [iso(reconDays[0]), iso(reconDays[1])],
    batchTerminals,
    seededAt: now,
    seconds: (performance.now() - t0) / 1000,
    rows: { payments: plan.payments, refunds: plan.payments, refundEvents: plan.payments },
  };
}

/** The network's settlement file for a recon slice: each card sale and its refund, approved. */
export function settlementFile(slice: Slice, seededAt: Date): string {
  const days: [number, number] = [
    utcMidnight(RECON_DAYS_AGO[0], seededAt),
    utcMidnight(RECON_DAYS_AGO[1], seededAt),
  ];
  const lines = [SETTLEMENT_FILE_HEADER];
  for (let n = slice.from; n < slice.to; n++) {
    const r = rowsOf(n, slice.name, { now: seededAt, reconDays: days, batchTerminals: ['', ''] });
    const p = r.payment;
    const f = r.refund;
    const stan = pad((n % 999_999) + 1, 6);
    lines.push(
      `${p.network_reference},${p.terminal_id},${stan},000001,sale,${p.amount_minor},CNY,,approved,00,${p.created_at}`,
      `${f.network_reference},${f.terminal_id},${stan},000001,refund,${f.net_amount_minor},CNY,${p.network_reference},approved,00,${f.created_at}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
