import { createHash } from 'node:crypto';
import type { Store, Tx } from './db.js';
import { forUpdate } from './db.js';

export interface AuditEntry {
  merchantId: string | null;
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  data: Record<string, unknown>;
  at: Date;
}

/** Canonical JSON: keys sorted, so the hash does not depend on insertion order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

function entryHash(prevHash: string, seq: number, e: Omit<AuditRow, 'hash' | 'prev_hash'>): string {
  const body = canonicalJson({
    seq,
    merchant_id: e.merchant_id,
    actor: e.actor,
    action: e.action,
    entity: e.entity,
    entity_id: e.entity_id,
    data_json: e.data_json,
    at: e.at,
  });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

interface AuditRow {
  seq: number;
  merchant_id: string | null;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  data_json: string;
  at: string;
  prev_hash: string;
  hash: string;
}

/**
 * Append one entry to the hash chain inside the caller's transaction. The chain head row is
 * locked, so appends are totally ordered; call this late in a transaction to hold it briefly.
 */
export async function appendAudit(trx: Tx, e: AuditEntry): Promise<void> {
  const head = await forUpdate(
    trx,
    trx.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('id', '=', 1),
  ).executeTakeFirstOrThrow();
  const seq = Number(head.last_seq) + 1;
  const row = {
    seq,
    merchant_id: e.merchantId,
    actor: e.actor,
    action: e.action,
    entity: e.entity,
    entity_id: e.entityId,
    data_json: canonicalJson(e.data),
    at: e.at.toISOString(),
  };
  const hash = entryHash(head.last_hash, seq, row);
  await trx
    .insertInto('audit_log')
    .values({ ...row, prev_hash: head.last_hash, hash })
    .execute();
  await trx.updateTable('audit_head').set({ last_seq: seq, last_hash: hash }).where('id', '=', 1).execute();
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  firstBrokenSeq?: number;
}

/** Recompute the whole chain; any edited, removed or reordered entry breaks it. */
/**
 * Recompute the whole chain (it links every merchant's entries); with `merchantId`, `entries`
 * counts only that merchant's, so a merchant learns nothing of the others' volume.
 */
export async function verifyAudit(store: Store, merchantId?: string): Promise<AuditVerification> {
  const PAGE = 1000;
  let prev = '0'.repeat(64);
  let expectedSeq = 1;
  let entries = 0;
  let mine = 0;
  const counted = () => (merchantId === undefined ? entries : mine);
  for (;;) {
    const rows = (await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(PAGE)
      .execute()) as AuditRow[];
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expectedSeq || r.prev_hash !== prev || entryHash(prev, seq, r) !== r.hash) {
        return { ok: false, entries: counted(), firstBrokenSeq: expectedSeq };
      }
      prev = r.hash;
      expectedSeq++;
      entries++;
      if (r.merchant_id === merchantId) mine++;
    }
    if (rows.length < PAGE) break;
  }
  const head = await store.db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
  if (!head || Number(head.last_seq) !== entries || head.last_hash !== prev) {
    return { ok: false, entries: counted(), firstBrokenSeq: entries + 1 };
  }
  return { ok: true, entries: counted() };
}
