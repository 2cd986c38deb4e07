import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * QR-code scan return (扫码退货, issue 12) and the consumer's tracking link.
 *
 * - `returns`: one return QR the merchant showed. `open` while its link is unused and unexpired:
 *   its lines are reserved (counted against the sale's lines and amount under the payment's lock,
 *   service/refunds.ts readScene), so a counter refund or a second return cannot take them;
 *   `submitted` once the consumer sent it (the refund it created holds the lines from then on);
 *   `canceled` by the merchant. An expired open return reserves nothing (its `expires_at` is
 *   compared with the clock wherever reservations are counted).
 *   The inspection of the goods (accepted / rejected, a note, by whom) is recorded here.
 * - `refunds.return_id`: the return a refund came from; `refunds.notify_lang`: the consumer asked for
 *   status messages in this language (their contact is in the sealed consumer columns).
 * - `refunds.tracking_hash`, `tracking_key`: the status link's capability, stored as its SHA-256
 *   (the link itself is derived from the token key `tracking_key` and the refund id: reprintable,
 *   never stored). Looked up by hash alone (a consumer's link names no merchant).
 */
export async function up(db: Db, dialect: 'sqlite' | 'postgres'): Promise<void> {
  let returns = db.schema
    .createTable('returns')
    .addColumn('id', 'text', (c) => (dialect === 'postgres' ? c.notNull() : c.primaryKey()))
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('payment_id', 'text', (c) => c.notNull())
    .addColumn('order_no', 'text', (c) => c.notNull())
    .addColumn('terminal_id', 'text')
    .addColumn('items_json', 'text', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'submitted', 'canceled')`))
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('token_key', 'text', (c) => c.notNull())
    .addColumn('refund_id', 'text')
    .addColumn('lang', 'text')
    .addColumn('inspection', 'text', (c) => c.check(sql`inspection in ('accepted', 'rejected')`))
    .addColumn('inspection_note', 'text')
    .addColumn('inspected_by', 'text')
    .addColumn('inspected_at', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('submitted_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull());
  if (dialect === 'postgres') {
    returns = returns
      .addPrimaryKeyConstraint('returns_pkey', ['id', 'merchant_id'])
      .addForeignKeyConstraint('returns_payment_id_fkey', ['payment_id', 'merchant_id'], 'payments', [
        'id',
        'merchant_id',
      ]);
  }
  await returns.execute();
  // The open returns of a payment (reservations) and a merchant's list, newest first.
  await db.schema
    .createIndex('returns_merchant_payment_open')
    .on('returns')
    .columns(['merchant_id', 'payment_id'])
    .where(sql<boolean>`status = 'open'`)
    .execute();
  await db.schema
    .createIndex('returns_merchant_created')
    .on('returns')
    .columns(['merchant_id', 'created_at', 'id'])
    .execute();

  await db.schema.alterTable('refunds').addColumn('return_id', 'text').execute();
  await db.schema
    .alterTable('refunds')
    .addColumn('notify_lang', 'text', (c) => c.check(sql`notify_lang in ('zh-CN', 'zh-TW', 'en')`))
    .execute();
  await db.schema.alterTable('refunds').addColumn('tracking_hash', 'text').execute();
  await db.schema.alterTable('refunds').addColumn('tracking_key', 'text').execute();
  await db.schema
    .createIndex('refunds_tracking_hash')
    .on('refunds')
    .column('tracking_hash')
    .where(sql<boolean>`tracking_hash is not null`)
    .execute();
}
