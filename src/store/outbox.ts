import { appendAudit } from './audit.js';
import type { Store, Tx } from './db.js';
import type { OutboxTable } from './schema.js';

/**
 * The outbox's rows, written only here (enqueueing lives with the ledger writes in repo.ts, in the
 * transaction of the change it follows). The worker claims, finishes, retries and buries them.
 */

/** Claim up to `limit` due rows for `leaseUntil` (SKIP LOCKED on PostgreSQL, so workers share). */
export async function claimDue(
  store: Store,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<OutboxTable[]> {
  const iso = now.toISOString();
  const lease = leaseUntil.toISOString();
  return store.tx(async (trx) => {
    const due = trx
      .selectFrom('outbox')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', iso)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', iso)]))
      .orderBy('next_attempt_at')
      .limit(limit);
    const ids = await (store.dialect === 'postgres' ? due.forUpdate().skipLocked() : due).execute();
    if (ids.length === 0) return [];
    return trx
      .updateTable('outbox')
      .set((eb) => ({ locked_until: lease, attempts: eb('attempts', '+', 1), updated_at: iso }))
      .where(
        'id',
        'in',
        ids.map((r) => r.id),
      )
      .returningAll()
      .execute();
  });
}

export type OutboxUpdate = Partial<
  Pick<OutboxTable, 'status' | 'locked_until' | 'attempts' | 'next_attempt_at' | 'last_error'>
>;

export async function updateOutbox(trx: Tx, id: string, set: OutboxUpdate, at: Date): Promise<void> {
  await trx
    .updateTable('outbox')
    .set({ ...set, updated_at: at.toISOString() })
    .where('id', '=', id)
    .execute();
}

/** Give a row up: `dead`, with its merchant for the dead-letter list, and an audit entry. */
export async function buryOutbox(
  store: Store,
  row: OutboxTable,
  merchantId: string | null,
  error: string,
  at: Date,
): Promise<void> {
  await store.tx(async (trx) => {
    await trx
      .updateTable('outbox')
      .set({
        status: 'dead',
        locked_until: null,
        last_error: error,
        merchant_id: merchantId,
        updated_at: at.toISOString(),
      })
      .where('id', '=', row.id)
      .execute();
    await appendAudit(trx, {
      merchantId,
      actor: 'worker',
      action: 'outbox.dead',
      entity: 'outbox',
      entityId: row.id,
      data: { kind: row.kind, refId: row.ref_id, attempts: row.attempts, error },
      at,
    });
  });
}

/** Dead outbox rows of one merchant, newest first (GET /v1/outbox/dead). */
export async function deadOutbox(store: Store, merchantId: string, limit: number) {
  const rows = await store.db
    .selectFrom('outbox')
    .selectAll()
    .where('status', '=', 'dead')
    .where('merchant_id', '=', merchantId)
    .orderBy('updated_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    refId: r.ref_id,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    diedAt: r.updated_at,
  }));
}
