import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * `refunds_merchant_day` (merchant, day) served the daily refund cap before the day's total had a
 * table of its own (`merchant_day_totals`); no query reads refunds by day any more, and every new
 * refund still paid for keeping it (issue 10).
 */
export async function up(db: Db): Promise<void> {
  await db.schema.dropIndex('refunds_merchant_day').execute();
}
