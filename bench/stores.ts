/**
 * The bench's own look into the store under test, for checks and for setup the product offers no
 * command for. Reads: how many refunds exist (after each run: exactly one new refund per 201).
 * Writes: extra merchants for the PostgreSQL run — there is no API, CLI command or store function
 * that creates a merchant (only the demo seed does, for its one merchant), so their rows are
 * inserted here the way src/demo.ts inserts the demo merchant's; everything after that (sessions,
 * payments) goes through the API.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { defaultPolicy } from '../src/domain/policy.js';

export const DEMO_MERCHANT_ID = '898100000000001';
export const DEMO_TERMINAL_ID = 'T0000001';

/** A policy under which no benchmark refund is refused by a limit (one approval below 10^8 fen). */
export const BENCH_POLICY = {
  dailyRefundLimit: 1_000_000_000_000,
  maxRefundAmount: 100_000_000,
  largeRefundThreshold: 100_000_000,
};

export interface StoreProbe {
  countRefunds(): Promise<number>;
  close(): Promise<void>;
}

export function sqlitePath(url: string): string {
  return url.slice('sqlite:'.length);
}

export async function openProbe(databaseUrl: string): Promise<StoreProbe> {
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new Database(sqlitePath(databaseUrl), { readonly: true });
    db.pragma('busy_timeout = 10000');
    const count = db.prepare('select count(*) as n from refunds');
    return {
      countRefunds: async () => Number((count.get() as { n: number }).n),
      close: async () => {
        db.close();
      },
    };
  }
  // Named apart from the product's connections, which the bench counts by application_name.
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', 'rd-bench-probe');
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  await client.connect();
  return {
    countRefunds: async () =>
      Number((await client.query('select count(*) as n from refunds')).rows[0]?.n ?? 0),
    close: () => client.end(),
  };
}

export interface BenchMerchant {
  merchantId: string;
  terminalId: string;
}

/**
 * `count` merchants, each with one terminal and a cashier `01` whose password is the demo
 * cashier's (its stored hash is copied: no argon2 work here), and the bench's policy.
 */
export async function createPgMerchants(databaseUrl: string, count: number): Promise<BenchMerchant[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const cashier = await client.query(
      `select password_hash from operators where merchant_id = $1 and operator_no = '01'`,
      [DEMO_MERCHANT_ID],
    );
    const hash = cashier.rows[0]?.password_hash as string | undefined;
    if (!hash) throw new Error('the demo cashier 01 is not in the store (was the demo seeded?)');
    const now = new Date().toISOString();
    const policy = JSON.stringify({ ...defaultPolicy, ...BENCH_POLICY });
    const merchants: BenchMerchant[] = [];
    await client.query('begin');
    for (let i = 1; i <= count; i++) {
      const merchantId = `8982${String(i).padStart(11, '0')}`;
      const terminalId = `B${String(i).padStart(7, '0')}`;
      await client.query(
        `insert into merchants (id, name, currency, available_funds_minor, policy_json, created_at)
         values ($1, $2, 'CNY', $3, $4, $5)`,
        [merchantId, `Bench merchant ${i}`, 10_000_000, policy, now],
      );
      await client.query('insert into acq_accounts (merchant_id, balance_minor) values ($1, $2)', [
        merchantId,
        10_000_000,
      ]);
      await client.query(
        `insert into terminals (id, merchant_id, name, batch_no, created_at) values ($1, $2, $3, 1, $4)`,
        [terminalId, merchantId, `Bench terminal ${i}`, now],
      );
      await client.query(
        `insert into operators (id, merchant_id, operator_no, role, name, password_hash, failed_attempts,
           approval_failed_attempts, locked_until, created_at)
         values ($1, $2, '01', 'cashier', 'Bench cashier', $3, 0, 0, null, $4)`,
        [`op_bench_${i}`, merchantId, hash, now],
      );
      merchants.push({ merchantId, terminalId });
    }
    await client.query('commit');
    return merchants;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

/** PostgreSQL backends opened by connections with this application_name (the product's pool, observed). */
export async function pgConnections(adminUrl: string, applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const r = await client.query('select count(*) as n from pg_stat_activity where application_name = $1', [
      applicationName,
    ]);
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

export async function pgAdmin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The URL of `schema` on the server of `adminUrl`, with an application_name to find its connections by. */
export function schemaUrl(adminUrl: string, schema: string, applicationName: string): string {
  const url = new URL(adminUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}
