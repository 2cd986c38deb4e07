import { type Kysely, sql } from 'kysely';

// Migrations take Kysely<any>: they describe past shapes, not today's typed schema.
// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

export async function up(db: Db, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const autoId = dialect === 'postgres' ? 'bigserial' : 'integer';
  await db.schema
    .createTable('merchants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('available_funds_minor', 'bigint', (c) => c.notNull())
    .addColumn('policy_json', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('terminals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('batch_no', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('operators')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('operator_no', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('operators_merchant_no', ['merchant_id', 'operator_no'])
    .execute();
  await db.schema
    .createTable('sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('terminal_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createTable('payments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('terminal_id', 'text')
    .addColumn('order_no', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('parent_payment_id', 'text')
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('fee_minor', 'bigint', (c) => c.notNull())
    .addColumn('card_bin', 'text')
    .addColumn('card_last4', 'text')
    .addColumn('card_token', 'text')
    .addColumn('voided', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('voided_at', 'text')
    .addColumn('settled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('settlement_id', 'text')
    .addColumn('refunded_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('in_flight_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('network_reference', 'text')
    .addColumn('captured_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    // The ledger invariant, enforced by the store as a last line of defence.
    .addCheckConstraint(
      'payments_totals',
      sql`refunded_minor >= 0 and in_flight_minor >= 0 and refunded_minor + in_flight_minor <= amount_minor`,
    )
    .execute();
  await db.schema.createIndex('payments_order').on('payments').columns(['merchant_id', 'order_no']).execute();
  await db.schema
    .createIndex('payments_sale_order')
    .on('payments')
    .columns(['merchant_id', 'order_no'])
    .unique()
    .where(sql.ref('kind'), '=', 'sale')
    .execute();
  await db.schema
    .createIndex('payments_last4')
    .on('payments')
    .columns(['merchant_id', 'card_last4'])
    .execute();
  await db.schema
    .createTable('payment_items')
    .addColumn('payment_id', 'text', (c) => c.notNull().references('payments.id'))
    .addColumn('line_no', 'integer', (c) => c.notNull())
    .addColumn('sku', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('qty', 'integer', (c) => c.notNull())
    .addColumn('unit_amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('refunded_qty', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('payment_items_pk', ['payment_id', 'line_no'])
    .addCheckConstraint('payment_items_qty', sql`refunded_qty >= 0 and refunded_qty <= qty`)
    .execute();
  await db.schema
    .createTable('refunds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('payment_id', 'text', (c) => c.notNull().references('payments.id'))
    .addColumn('order_no', 'text', (c) => c.notNull())
    .addColumn('terminal_id', 'text')
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('fee_minor', 'bigint', (c) => c.notNull())
    .addColumn('net_amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('merchant_fee_returned_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('reason_code', 'text', (c) => c.notNull())
    .addColumn('reason_note', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('items_json', 'text', (c) => c.notNull())
    .addColumn('approvals_json', 'text', (c) => c.notNull())
    .addColumn('consumer_enc', 'text')
    .addColumn('consumer_masked_json', 'text')
    .addColumn('delayed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expected_arrival', 'text', (c) => c.notNull())
    .addColumn('network_reference', 'text')
    .addColumn('response_code', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('settlement_id', 'text')
    .addColumn('created_day', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addCheckConstraint(
      'refunds_amounts',
      sql`amount_minor > 0 and net_amount_minor + fee_minor = amount_minor`,
    )
    .execute();
  await db.schema.createIndex('refunds_payment').on('refunds').column('payment_id').execute();
  await db.schema
    .createIndex('refunds_merchant_status')
    .on('refunds')
    .columns(['merchant_id', 'status'])
    .execute();
  await db.schema
    .createIndex('refunds_merchant_day')
    .on('refunds')
    .columns(['merchant_id', 'created_day'])
    .execute();
  await db.schema
    .createTable('refund_events')
    .addColumn('id', autoId, (c) => c.primaryKey())
    .addColumn('refund_id', 'text', (c) => c.notNull().references('refunds.id'))
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('refund_events_refund').on('refund_events').column('refund_id').execute();
  await db.schema
    .createTable('adjustments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('order_no', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('original_amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('new_amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('difference_minor', 'bigint', (c) => c.notNull())
    .addColumn('refund_id', 'text')
    .addColumn('charge_payment_id', 'text')
    .addColumn('reason_code', 'text', (c) => c.notNull())
    .addColumn('reason_note', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('adjustments_revision', ['merchant_id', 'order_no', 'revision'])
    .execute();
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('response_json', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_pk', ['merchant_id', 'key'])
    .execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('data_json', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_hash', 'text', (c) => c.notNull())
    .execute();
  await db
    .insertInto('audit_head')
    .values({ id: 1, last_seq: 0, last_hash: '0'.repeat(64) })
    .execute();
  // Append-only: the store itself refuses to rewrite history.
  if (dialect === 'postgres') {
    await sql`create function audit_log_append_only() returns trigger language plpgsql as $$
      begin raise exception 'audit_log is append-only'; end $$`.execute(db);
    await sql`create trigger audit_log_no_update before update or delete on audit_log
      for each row execute function audit_log_append_only()`.execute(db);
  } else {
    await sql`create trigger audit_log_no_update before update on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    await sql`create trigger audit_log_no_delete before delete on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  }
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ref_id', 'text', (c) => c.notNull())
    .addColumn('payload_json', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('locked_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'next_attempt_at']).execute();
  await db.schema
    .createTable('acq_transactions')
    .addColumn('reference', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('terminal_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull().unique())
    .addColumn('original_reference', 'text')
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('fee_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('response_code', 'text')
    .addColumn('due_at', 'text', (c) => c.notNull())
    .addColumn('batch_no', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('merchant_day_totals')
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('merchant_day_totals_pk', ['merchant_id', 'day'])
    .addCheckConstraint('merchant_day_totals_nonneg', sql`amount_minor >= 0`)
    .execute();
  await db.schema
    .createTable('settlements')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('terminal_id', 'text', (c) => c.notNull())
    .addColumn('batch_no', 'integer', (c) => c.notNull())
    .addColumn('totals_json', 'text', (c) => c.notNull())
    .addColumn('network_totals_json', 'text', (c) => c.notNull())
    .addColumn('balanced', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('settlements_batch', ['terminal_id', 'batch_no'])
    .execute();
  await db.schema
    .createTable('acq_accounts')
    .addColumn('merchant_id', 'text', (c) => c.primaryKey())
    .addColumn('balance_minor', 'bigint', (c) => c.notNull())
    .execute();
}
