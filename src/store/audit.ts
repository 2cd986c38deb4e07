import { createHash } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { type Db, forUpdate, type Tx } from './dialect.js';
import { deferToGroupEnd } from './group-commit.js';
import type { AuditTable } from './schema.js';

/**
 * The audit log: one hash chain per merchant (migration 0013).
 *
 * Each entry is linked into the chain of its merchant, or into SYSTEM_CHAIN when it names none
 * (the CLI's key rotations). Appending locks that chain's head row only, so two merchants'
 * appends never wait for each other, and on Citus a chain lives in its merchant's shard.
 *
 * Every chain starts at the anchor: the head of the one global chain the store kept before 0013,
 * now closed. Its entries keep their numbers (1..anchor.last_seq) and their hashes, so nothing is
 * re-hashed and tampering from before the migration stays visible; a chain's first entry is
 * number anchor.last_seq + 1 and links to the anchor's hash. (On a store created since, the
 * anchor is 0 and the zero hash.) A merchant's entries therefore keep ascending numbers across
 * the migration.
 */

/** The chain of entries without a merchant. Merchant ids are digits: this can never be one. */
export const SYSTEM_CHAIN = '~system';

export const chainOf = (merchantId: string | null): string => merchantId ?? SYSTEM_CHAIN;

/** The back-link of the first entry of the global chain, before 0013. */
export const GENESIS_HASH = '0'.repeat(64);

/** Rows read per query by verification: memory stays bounded however long a chain is. */
const PAGE = 1000;

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

type AuditRow = AuditTable;
type Body = Omit<AuditRow, 'hash' | 'prev_hash' | 'chain_id'>;

function sha256(prevHash: string, body: string): string {
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

const bodyFields = (e: Body) => ({
  seq: Number(e.seq),
  merchant_id: e.merchant_id,
  actor: e.actor,
  action: e.action,
  entity: e.entity,
  entity_id: e.entity_id,
  data_json: e.data_json,
  at: e.at,
});

/**
 * An entry of a per-merchant chain. The chain id is in the body: an entry moved to another
 * chain, even at a free number, no longer matches its hash.
 */
function chainEntryHash(prevHash: string, e: Body & { chain_id: string }): string {
  return sha256(prevHash, canonicalJson({ chain_id: e.chain_id, ...bodyFields(e) }));
}

/** An entry of the closed global chain, hashed as it was written before 0013. */
export function legacyEntryHash(prevHash: string, e: Body): string {
  return sha256(prevHash, canonicalJson(bodyFields(e)));
}

interface Head {
  last_seq: number;
  last_hash: string;
}

interface Anchor extends Head {
  broken_seq: number | null;
}

const readAnchor = (q: Tx): Promise<Anchor> =>
  q
    .selectFrom('audit_anchor')
    .select(['last_seq', 'last_hash', 'broken_seq'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow()
    .then((a) => ({
      last_seq: Number(a.last_seq),
      last_hash: a.last_hash,
      broken_seq: a.broken_seq === null ? null : Number(a.broken_seq),
    }));

/**
 * The chain's head, locked for the rest of the transaction. A chain's first append creates it
 * at the anchor; two first appends at once both insert-or-skip, and the second then waits on the
 * row lock like any later append.
 */
async function lockHead(trx: Tx, chainId: string): Promise<Head> {
  const locked = () =>
    forUpdate(
      trx,
      trx.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('chain_id', '=', chainId),
    ).executeTakeFirst();
  const head = await locked();
  if (head) return head;
  const anchor = await readAnchor(trx);
  await trx
    .insertInto('audit_head')
    .values({ chain_id: chainId, last_seq: anchor.last_seq, last_hash: anchor.last_hash })
    .onConflict((oc) => oc.column('chain_id').doNothing())
    .execute();
  const created = await locked();
  if (!created) throw new Error(`audit chain ${chainId}: head row missing right after it was created`);
  return created;
}

/**
 * Append one entry to its merchant's hash chain inside the caller's transaction. Only that
 * chain's head row is locked (other merchants append meanwhile); call this late in a
 * transaction to hold it briefly. Inside a savepoint that is rolled back, the head's update
 * goes with the entry, so the chain stays whole. Inside a group-commit transaction the entry is
 * linked at the group's end together with the other requests' entries (`appendAuditEntries`):
 * one head lock and one insert per chain for the whole group, in the requests' order.
 */
export async function appendAudit(trx: Tx, e: AuditEntry): Promise<void> {
  if (deferToGroupEnd(trx, appendAuditEntries, e)) return;
  await appendAuditEntries(trx, [e]);
}

/** Rows per multi-row insert: far below either database's limit on bound parameters. */
const INSERT_ROWS = 400;

/**
 * Append entries in their order, chain by chain. The heads are locked in chain-id order, so two
 * transactions appending to several chains never take them in opposite orders (no deadlock).
 */
export async function appendAuditEntries(trx: Tx, entries: AuditEntry[]): Promise<void> {
  const byChain = new Map<string, AuditEntry[]>();
  for (const e of entries) {
    const chainId = chainOf(e.merchantId);
    const list = byChain.get(chainId);
    if (list) list.push(e);
    else byChain.set(chainId, [e]);
  }
  for (const chainId of [...byChain.keys()].sort()) {
    const head = await lockHead(trx, chainId);
    let seq = Number(head.last_seq);
    let prev = head.last_hash;
    const rows = (byChain.get(chainId) ?? []).map((e) => {
      seq++;
      const row = {
        chain_id: chainId,
        seq,
        merchant_id: e.merchantId,
        actor: e.actor,
        action: e.action,
        entity: e.entity,
        entity_id: e.entityId,
        data_json: canonicalJson(e.data),
        at: e.at.toISOString(),
      };
      const hash = chainEntryHash(prev, row);
      const linked = { ...row, prev_hash: prev, hash };
      prev = hash;
      return linked;
    });
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      await trx
        .insertInto('audit_log')
        .values(rows.slice(i, i + INSERT_ROWS))
        .execute();
    }
    await trx
      .updateTable('audit_head')
      .set({ last_seq: seq, last_hash: prev })
      .where('chain_id', '=', chainId)
      .execute();
  }
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  firstBrokenSeq?: number;
}

/**
 * Walk the entries in order from `start`, checking numbering, back-links and hashes, then the
 * walk's end against `head` (a missing head means an empty chain): an entry edited, removed
 * (the last ones too), inserted or moved breaks it at the first number that does not verify.
 */
async function walk(
  start: Head,
  page: (fromSeq: number) => Promise<AuditRow[]>,
  check: (prev: string, r: AuditRow) => boolean,
  head: Head | undefined,
): Promise<AuditVerification> {
  let prev = start.last_hash;
  let expectedSeq = start.last_seq + 1;
  let entries = 0;
  for (;;) {
    const rows = await page(expectedSeq);
    for (const r of rows) {
      if (Number(r.seq) !== expectedSeq || r.prev_hash !== prev || !check(prev, r))
        return { ok: false, entries, firstBrokenSeq: expectedSeq };
      prev = r.hash;
      expectedSeq++;
      entries++;
    }
    if (rows.length < PAGE) break;
  }
  const end = head ?? start;
  if (Number(end.last_seq) !== expectedSeq - 1 || end.last_hash !== prev)
    return { ok: false, entries, firstBrokenSeq: expectedSeq };
  return { ok: true, entries };
}

/** One merchant's (or the system's) chain since the anchor: reads of that chain's shard only. */
async function verifyChain(store: { db: Db }, chainId: string, anchor: Anchor): Promise<AuditVerification> {
  const head = await store.db
    .selectFrom('audit_head')
    .select(['last_seq', 'last_hash'])
    .where('chain_id', '=', chainId)
    .executeTakeFirst();
  return walk(
    anchor,
    (fromSeq) =>
      store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('chain_id', '=', chainId)
        .where('seq', '>=', fromSeq)
        .orderBy('seq')
        .limit(PAGE)
        .execute(),
    (prev, r) =>
      r.chain_id === chainId && chainOf(r.merchant_id) === chainId && chainEntryHash(prev, r) === r.hash,
    head,
  );
}

/**
 * The closed global chain, recomputed in its one order (all merchants): 1..head.last_seq from
 * the genesis hash to `head`. Migration 0013 runs it on the old table before anchoring.
 */
export function verifyLegacyChain(q: Tx, head: Head): Promise<AuditVerification> {
  const last = Number(head.last_seq);
  return walk(
    { last_seq: 0, last_hash: GENESIS_HASH },
    (fromSeq) =>
      q
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>=', fromSeq)
        .where('seq', '<=', last)
        .orderBy('seq')
        .limit(PAGE)
        .execute(),
    // The hash does not cover the chain id (it did not exist): check the row is filed where its
    // merchant says. Before 0013 there is no chain id to check.
    (prev, r) =>
      legacyEntryHash(prev, r) === r.hash &&
      ((r.chain_id as string | undefined) === undefined || r.chain_id === chainOf(r.merchant_id)),
    head,
  );
}

/** A break the migration found in the closed chain stays reported, even if the rows later verify. */
function withRecordedBreak(anchor: Anchor, v: AuditVerification): AuditVerification {
  if (anchor.broken_seq === null) return v;
  const at =
    v.firstBrokenSeq === undefined ? anchor.broken_seq : Math.min(v.firstBrokenSeq, anchor.broken_seq);
  return { ok: false, entries: v.entries, firstBrokenSeq: at };
}

/**
 * With `merchantId`: that merchant's chain since the anchor (its shard only, page by page;
 * `entries` counts that merchant's entries, so a merchant learns nothing of the others' volume),
 * and the verdict the migration recorded on the closed chain. Without: the closed chain
 * recomputed, every chain, and entries whose chain has no head. `firstBrokenSeq` is the number,
 * within its chain, of the first entry that does not verify (closed chain first, then chains by id).
 */
export async function verifyAudit(store: { db: Db }, merchantId?: string): Promise<AuditVerification> {
  const anchor = await readAnchor(store.db);
  if (merchantId !== undefined)
    return withRecordedBreak(anchor, await verifyChain(store, merchantId, anchor));

  const legacy = withRecordedBreak(anchor, await verifyLegacyChain(store.db, anchor));
  if (!legacy.ok) return legacy;
  let entries = legacy.entries;
  let after = '';
  for (;;) {
    const chains = await store.db
      .selectFrom('audit_head')
      .select('chain_id')
      .where('chain_id', '>', after)
      .orderBy('chain_id')
      .limit(PAGE)
      .execute();
    for (const { chain_id } of chains) {
      const v = await verifyChain(store, chain_id, anchor);
      entries += v.entries;
      if (!v.ok) return { ok: false, entries, firstBrokenSeq: v.firstBrokenSeq };
      after = chain_id;
    }
    if (chains.length < PAGE) break;
  }
  // An entry after the anchor in a chain without a head: the head was removed, or the entry
  // was put under a chain id nobody appends to.
  const orphan = await store.db
    .selectFrom('audit_log')
    .leftJoin('audit_head', 'audit_head.chain_id', 'audit_log.chain_id')
    .select('audit_log.seq')
    .where('audit_head.chain_id', 'is', null)
    .where('audit_log.seq', '>', anchor.last_seq)
    .orderBy('audit_log.chain_id')
    .orderBy('audit_log.seq')
    .limit(1)
    .executeTakeFirst();
  if (orphan) return { ok: false, entries, firstBrokenSeq: Number(orphan.seq) };
  return { ok: true, entries };
}

/** What a reader of a merchant's audit log may narrow it by; every filter given must hold. */
export interface AuditFilter {
  /** `at` from (included) and to (excluded), ISO-8601 UTC. */
  from?: string | undefined;
  to?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
  entity?: string | undefined;
  entityId?: string | undefined;
}

/** An entry as readers see it: every column but the chain id (where the store files it). */
export type AuditListRow = Omit<AuditRow, 'chain_id'>;

export interface AuditPage {
  rows: AuditListRow[];
  hasMore: boolean;
  /** The seq of the last row shown, when there is more: the page after it has older entries. */
  nextCursor: string | null;
}

const SEQ_CURSOR = /^[1-9][0-9]{0,15}$/;

/**
 * One page of a merchant's own chain, newest first: the list (GET /v1/audit) and the CSV export
 * both read through here, so they filter alike. The read walks the chain's key (chain_id, seq)
 * backwards from the cursor and stops after a page of matches: no other merchant's entries, no
 * sort. The filters are checked on the rows walked, not on an index of their own — a rare action
 * costs a longer walk of this merchant's chain, which stays bounded by the chain.
 */
export async function readAuditPage(
  db: Db,
  merchantId: string,
  f: AuditFilter,
  page: { cursor?: string | undefined; limit: number },
): Promise<AuditPage> {
  let q = db
    .selectFrom('audit_log')
    .select([
      'seq',
      'merchant_id',
      'actor',
      'action',
      'entity',
      'entity_id',
      'data_json',
      'at',
      'prev_hash',
      'hash',
    ])
    .where('chain_id', '=', chainOf(merchantId))
    .where('merchant_id', '=', merchantId);
  if (page.cursor !== undefined) {
    if (!SEQ_CURSOR.test(page.cursor)) throw new DomainError('validation_failed', 'cursor is not valid');
    q = q.where('seq', '<', Number(page.cursor));
  }
  if (f.from) q = q.where('at', '>=', f.from);
  if (f.to) q = q.where('at', '<', f.to);
  if (f.action) q = q.where('action', '=', f.action);
  if (f.actor) q = q.where('actor', '=', f.actor);
  if (f.entity) q = q.where('entity', '=', f.entity);
  if (f.entityId) q = q.where('entity_id', '=', f.entityId);
  const found = await q
    .orderBy('seq', 'desc')
    .limit(page.limit + 1)
    .execute();
  const hasMore = found.length > page.limit;
  const rows = hasMore ? found.slice(0, page.limit) : found;
  const last = rows[rows.length - 1];
  return { rows, hasMore, nextCursor: hasMore && last ? String(last.seq) : null };
}
