/**
 * The bare durable floor of issue 10: a minimal Fastify server, one transaction per refund — read
 * the payment, insert the refund, update the payment's totals, insert an outbox row — and nothing
 * else (no auth, no schema, no idempotency, no audit). It has its own database: a SQLite file in
 * WAL mode with synchronous=FULL (one fsync per commit) and prepared statements, or its own
 * PostgreSQL schema (synchronous_commit as the server has it, named prepared statements).
 *
 * Run by bench/main.ts as a child process:
 *   FLOOR_DB=sqlite:/path/floor.db | postgres://…  FLOOR_PAYMENTS=64  FLOOR_POOL=32
 * Prints `FLOOR_READY <port>` once listening. Payments are `fp_0` … `fp_<n-1>`, 10^9 fen each.
 * `GET /floor/count` answers the number of refunds stored (the bench checks it after each run).
 */
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';
import { ulid } from 'ulid';

const DB = process.env.FLOOR_DB ?? '';
const PAYMENTS = Number(process.env.FLOOR_PAYMENTS ?? '64');
const POOL = Number(process.env.FLOOR_POOL ?? '32');
const PAYMENT_MINOR = 1_000_000_000;

interface RefundBody {
  paymentId: string;
  amount: number;
}

type Outcome = { status: 201; body: object } | { status: 404 | 422; body: { error: string } };

interface FloorStore {
  refund(input: RefundBody): Promise<Outcome>;
  count(): Promise<number>;
  close(): Promise<void>;
}

const SCHEMA = [
  `create table if not exists payments (id text primary key, merchant_id text not null, amount_minor bigint not null,
     refunded_minor bigint not null default 0, in_flight_minor bigint not null default 0, currency text not null,
     updated_at text not null)`,
  `create table if not exists refunds (id text primary key, payment_id text not null references payments(id),
     merchant_id text not null, amount_minor bigint not null, currency text not null, status text not null,
     reason_code text not null, created_at text not null)`,
  'create index if not exists refunds_payment on refunds(payment_id)',
  `create table if not exists outbox (id text primary key, kind text not null, ref_id text not null,
     payload_json text not null, status text not null, created_at text not null)`,
];

function refused(status: 404 | 422, error: string): Outcome {
  return { status, body: { error } };
}

function openSqliteFloor(path: string): FloorStore {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  for (const s of SCHEMA) db.exec(s);
  const now = new Date().toISOString();
  const seed = db.prepare(
    `insert or ignore into payments (id, merchant_id, amount_minor, currency, updated_at) values (?, 'm1', ?, 'CNY', ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < PAYMENTS; i++) seed.run(`fp_${i}`, PAYMENT_MINOR, now);
  })();
  const readPayment = db.prepare(
    'select id, merchant_id, amount_minor, refunded_minor, in_flight_minor, currency from payments where id = ?',
  );
  const insertRefund = db.prepare(
    `insert into refunds (id, payment_id, merchant_id, amount_minor, currency, status, reason_code, created_at)
     values (?, ?, ?, ?, ?, 'requested', 'quality_issue', ?)`,
  );
  const updateTotals = db.prepare(
    'update payments set in_flight_minor = in_flight_minor + ?, updated_at = ? where id = ?',
  );
  const insertOutbox = db.prepare(
    `insert into outbox (id, kind, ref_id, payload_json, status, created_at) values (?, 'refund.submit', ?, '{}', 'pending', ?)`,
  );
  const countRefunds = db.prepare('select count(*) as n from refunds');
  // BEGIN IMMEDIATE, like the product: the write lock is taken before the payment is read.
  const refund = db.transaction((input: RefundBody): Outcome => {
    const p = readPayment.get(input.paymentId) as
      | {
          id: string;
          merchant_id: string;
          amount_minor: number;
          refunded_minor: number;
          in_flight_minor: number;
          currency: string;
        }
      | undefined;
    if (!p) return refused(404, 'payment not found');
    if (input.amount > p.amount_minor - p.refunded_minor - p.in_flight_minor)
      return refused(422, 'refund exceeds refundable');
    const id = `fr_${ulid()}`;
    const at = new Date().toISOString();
    insertRefund.run(id, p.id, p.merchant_id, input.amount, p.currency, at);
    updateTotals.run(input.amount, at, p.id);
    insertOutbox.run(`fo_${ulid()}`, id, at);
    return {
      status: 201,
      body: { id, paymentId: p.id, amount: input.amount, status: 'requested', createdAt: at },
    };
  });
  return {
    refund: async (input) => refund.immediate(input),
    count: async () => (countRefunds.get() as { n: number }).n,
    close: async () => {
      db.close();
    },
  };
}

async function openPostgresFloor(url: string): Promise<FloorStore> {
  const pool = new pg.Pool({ connectionString: url, max: POOL });
  const setup = await pool.connect();
  try {
    for (const s of SCHEMA) await setup.query(s);
    const now = new Date().toISOString();
    await setup.query(
      `insert into payments (id, merchant_id, amount_minor, currency, updated_at)
       select 'fp_' || g, 'm1', $1, 'CNY', $2 from generate_series(0, $3::int - 1) g on conflict do nothing`,
      [PAYMENT_MINOR, now, PAYMENTS],
    );
  } finally {
    setup.release();
  }
  return {
    refund: async (input) => {
      const c = await pool.connect();
      try {
        await c.query('begin');
        const r = await c.query({
          name: 'floor_read_payment',
          text: 'select id, merchant_id, amount_minor, refunded_minor, in_flight_minor, currency from payments where id = $1 for update',
          values: [input.paymentId],
        });
        const p = r.rows[0] as
          | {
              id: string;
              merchant_id: string;
              amount_minor: string;
              refunded_minor: string;
              in_flight_minor: string;
              currency: string;
            }
          | undefined;
        if (!p) {
          await c.query('rollback');
          return refused(404, 'payment not found');
        }
        if (input.amount > Number(p.amount_minor) - Number(p.refunded_minor) - Number(p.in_flight_minor)) {
          await c.query('rollback');
          return refused(422, 'refund exceeds refundable');
        }
        const id = `fr_${ulid()}`;
        const at = new Date().toISOString();
        await c.query({
          name: 'floor_insert_refund',
          text: `insert into refunds (id, payment_id, merchant_id, amount_minor, currency, status, reason_code, created_at)
                 values ($1, $2, $3, $4, $5, 'requested', 'quality_issue', $6)`,
          values: [id, p.id, p.merchant_id, input.amount, p.currency, at],
        });
        await c.query({
          name: 'floor_update_totals',
          text: 'update payments set in_flight_minor = in_flight_minor + $1, updated_at = $2 where id = $3',
          values: [input.amount, at, p.id],
        });
        await c.query({
          name: 'floor_insert_outbox',
          text: `insert into outbox (id, kind, ref_id, payload_json, status, created_at) values ($1, 'refund.submit', $2, '{}', 'pending', $3)`,
          values: [`fo_${ulid()}`, id, at],
        });
        await c.query('commit');
        return {
          status: 201,
          body: { id, paymentId: p.id, amount: input.amount, status: 'requested', createdAt: at },
        };
      } catch (err) {
        await c.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
    count: async () => Number((await pool.query('select count(*) as n from refunds')).rows[0]?.n ?? 0),
    close: () => pool.end(),
  };
}

async function main(): Promise<void> {
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(DB))
    throw new Error('FLOOR_DB must be sqlite:<path> or postgres://…');
  if (!Number.isInteger(PAYMENTS) || PAYMENTS < 1 || PAYMENTS > 100_000)
    throw new Error('FLOOR_PAYMENTS: 1..100000');
  if (!Number.isInteger(POOL) || POOL < 1 || POOL > 90) throw new Error('FLOOR_POOL: 1..90');
  const store = DB.startsWith('sqlite:')
    ? openSqliteFloor(DB.slice('sqlite:'.length))
    : await openPostgresFloor(DB);
  const app = Fastify({ logger: false });
  app.post('/floor/refunds', async (req, reply) => {
    const body = req.body as Partial<RefundBody> | null;
    if (
      !body ||
      typeof body.paymentId !== 'string' ||
      !Number.isInteger(body.amount) ||
      (body.amount ?? 0) <= 0
    )
      return reply.code(400).send({ error: 'paymentId and a positive integer amount are required' });
    const out = await store.refund({ paymentId: body.paymentId, amount: body.amount as number });
    return reply.code(out.status).send(out.body);
  });
  app.get('/floor/count', async () => ({ refunds: await store.count() }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`FLOOR_READY ${new URL(address).port}\n`);
  const stop = async () => {
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`floor: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
