import { ulid } from '../ids.js';
import type {
  KeyClaim,
  LinkAttempt,
  LinkAttemptUpdate,
  LinkJournal,
  LinkTerminal,
  SealedKeyHex,
  SignInLease,
} from '../network/journal.js';
import { REVERSE_KIND, type ReversalPayload } from '../network/port.js';
import { forUpdate, type Store, type Tx } from './db.js';
import { enqueueOutbox } from './repo.js';
import type { LinkAttemptTable } from './schema.js';

const toAttempt = (r: LinkAttemptTable): LinkAttempt => ({
  id: r.id,
  kind: r.kind,
  refId: r.ref_id,
  terminalId: r.terminal_id,
  stan: r.stan,
  batchNo: r.batch_no,
  requestJson: r.request_json,
  state: r.state,
  responseCode: r.response_code,
  reference: r.reference,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toRow = (a: LinkAttempt, merchantId: string): LinkAttemptTable => ({
  id: a.id,
  merchant_id: merchantId,
  kind: a.kind,
  ref_id: a.refId,
  terminal_id: a.terminalId,
  stan: a.stan,
  batch_no: a.batchNo,
  request_json: a.requestJson,
  state: a.state,
  response_code: a.responseCode,
  reference: a.reference,
  created_at: a.createdAt,
  updated_at: a.updatedAt,
});

/**
 * How many attempts' merchants one journal remembers. An attempt is updated moments after it is
 * recorded or read, by the process that did so; a bound keeps a long-running process small.
 */
const REMEMBERED_ATTEMPTS = 10_000;

async function enqueueReversal(trx: Tx, refId: string, payload: ReversalPayload, at: Date): Promise<void> {
  await enqueueOutbox(trx, { id: `ob_${ulid()}`, kind: REVERSE_KIND, refId, payload, at });
}

/**
 * The card link's journal in our store (migrations 0002 and 0006): `link_attempts`, the terminal's
 * shared trace counter and batch (`terminals`), its working keys (`link_terminal_keys`), and the
 * reversals it queues in the outbox.
 *
 * The port names terminals and attempts, never merchants; every row here carries its merchant
 * (migration 0012), and every lock, update and per-terminal read names it, so a store sharded by
 * merchant runs each on one shard. The merchant comes from the terminal (read once per terminal
 * and process) or from the attempt as this journal recorded or read it.
 */
export class StoreLinkJournal implements LinkJournal {
  constructor(private readonly store: Store) {}

  /** Terminal → merchant, read once per terminal: a terminal never moves to another merchant. */
  private readonly merchantOfTerminal = new Map<string, string>();
  /** Attempt → merchant, for attempts recorded or read here (at most REMEMBERED_ATTEMPTS). */
  private readonly merchantOfAttempt = new Map<string, string>();

  private get db() {
    return this.store.db;
  }

  /** The merchant whose rows a terminal's attempts and keys are; null for a terminal not in the store. */
  private async terminalMerchant(terminalId: string): Promise<string | null> {
    const known = this.merchantOfTerminal.get(terminalId);
    if (known !== undefined) return known;
    const t = await this.db
      .selectFrom('terminals')
      .select('merchant_id')
      .where('id', '=', terminalId)
      .executeTakeFirst();
    if (!t) return null;
    this.merchantOfTerminal.set(terminalId, t.merchant_id);
    return t.merchant_id;
  }

  private async merchantOf(terminalId: string): Promise<string> {
    const merchantId = await this.terminalMerchant(terminalId);
    if (merchantId === null) throw new Error(`terminal ${terminalId} is not in the store`);
    return merchantId;
  }

  private rememberAttempts(rows: { id: string; merchant_id: string }[]): void {
    for (const r of rows) {
      this.merchantOfAttempt.delete(r.id);
      if (this.merchantOfAttempt.size >= REMEMBERED_ATTEMPTS) {
        const oldest = this.merchantOfAttempt.keys().next().value;
        if (oldest !== undefined) this.merchantOfAttempt.delete(oldest);
      }
      this.merchantOfAttempt.set(r.id, r.merchant_id);
    }
  }

  /**
   * The merchant of an attempt recorded or read here; otherwise (a process that never saw it) read
   * by its id, which is unique, on every shard. Null for an attempt not in the store.
   */
  private async attemptMerchant(id: string): Promise<string | null> {
    const known = this.merchantOfAttempt.get(id);
    if (known !== undefined) return known;
    const r = await this.db
      .selectFrom('link_attempts')
      .select(['id', 'merchant_id'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!r) return null;
    this.rememberAttempts([r]);
    return r.merchant_id;
  }

  async findTerminal(where: {
    merchantId?: string;
    terminalId?: string | null;
  }): Promise<LinkTerminal | null> {
    let q = this.db.selectFrom('terminals').select(['id', 'merchant_id', 'batch_no']);
    if (where.merchantId !== undefined) q = q.where('merchant_id', '=', where.merchantId);
    if (where.terminalId) q = q.where('id', '=', where.terminalId);
    const t = await q.orderBy('id').executeTakeFirst();
    if (!t) return null;
    this.merchantOfTerminal.set(t.id, t.merchant_id);
    return { id: t.id, merchantId: t.merchant_id, batchNo: t.batch_no };
  }

  async nextStan(terminalId: string): Promise<string> {
    const merchantId = await this.merchantOf(terminalId);
    const row = await this.store.tx(async (trx) => {
      await trx
        .updateTable('terminals')
        .set((eb) => ({ stan: eb(eb('stan', '%', 999_999), '+', 1) }))
        .where('id', '=', terminalId)
        .where('merchant_id', '=', merchantId)
        .execute();
      return trx
        .selectFrom('terminals')
        .select('stan')
        .where('id', '=', terminalId)
        .where('merchant_id', '=', merchantId)
        .executeTakeFirstOrThrow();
    });
    return String(row.stan).padStart(6, '0');
  }

  async stanUsed(terminalId: string, batchNo: string, stan: string): Promise<boolean> {
    const merchantId = await this.terminalMerchant(terminalId);
    if (merchantId === null) return false;
    const used = await this.db
      .selectFrom('link_attempts')
      .select('id')
      .where('merchant_id', '=', merchantId)
      .where('terminal_id', '=', terminalId)
      .where('batch_no', '=', batchNo)
      .where('stan', '=', stan)
      .executeTakeFirst();
    return used !== undefined;
  }

  async recordAttempt(attempt: LinkAttempt): Promise<void> {
    const merchantId = await this.merchantOf(attempt.terminalId);
    await this.db.insertInto('link_attempts').values(toRow(attempt, merchantId)).execute();
    this.rememberAttempts([{ id: attempt.id, merchant_id: merchantId }]);
  }

  async updateAttempt(id: string, set: LinkAttemptUpdate, at: Date): Promise<void> {
    const merchantId = await this.attemptMerchant(id);
    if (merchantId === null) return;
    await this.db
      .updateTable('link_attempts')
      .set({
        ...(set.state !== undefined ? { state: set.state } : {}),
        ...(set.responseCode !== undefined ? { response_code: set.responseCode } : {}),
        ...(set.reference !== undefined ? { reference: set.reference } : {}),
        updated_at: at.toISOString(),
      })
      .where('id', '=', id)
      .where('merchant_id', '=', merchantId)
      .execute();
  }

  async attempt(id: string): Promise<LinkAttempt | null> {
    const r = await this.db.selectFrom('link_attempts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) return null;
    this.rememberAttempts([r]);
    return toAttempt(r);
  }

  async attemptsOf(refId: string): Promise<LinkAttempt[]> {
    const rows = await this.db
      .selectFrom('link_attempts')
      .selectAll()
      .where('ref_id', '=', refId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    this.rememberAttempts(rows);
    return rows.map(toAttempt);
  }

  async referenceTaken(reference: string, exceptAttemptId: string): Promise<boolean> {
    const other = await this.db
      .selectFrom('link_attempts')
      .select('id')
      .where('reference', '=', reference)
      .where('id', '!=', exceptAttemptId)
      .executeTakeFirst();
    return other !== undefined;
  }

  async originalSale(reference: string): Promise<LinkAttempt | null> {
    const r = await this.db
      .selectFrom('link_attempts')
      .selectAll()
      .where('kind', '=', 'sale')
      .where('reference', '=', reference)
      .executeTakeFirst();
    return r ? toAttempt(r) : null;
  }

  async approvedInBatch(terminalId: string, batchNo: string): Promise<LinkAttempt[]> {
    const merchantId = await this.terminalMerchant(terminalId);
    if (merchantId === null) return [];
    const rows = await this.db
      .selectFrom('link_attempts')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('terminal_id', '=', terminalId)
      .where('batch_no', '=', batchNo)
      .where('state', '=', 'answered')
      .where('response_code', '=', '00')
      .execute();
    return rows.map(toAttempt);
  }

  async markForReversal(attemptId: string, at: Date): Promise<boolean> {
    const merchantId = await this.attemptMerchant(attemptId);
    if (merchantId === null) return false;
    return this.store.tx(async (trx) => {
      const a = await trx
        .selectFrom('link_attempts')
        .select('state')
        .where('id', '=', attemptId)
        .where('merchant_id', '=', merchantId)
        .executeTakeFirst();
      if (a?.state !== 'sent') return false;
      await trx
        .updateTable('link_attempts')
        .set({ state: 'reversing', updated_at: at.toISOString() })
        .where('id', '=', attemptId)
        .where('merchant_id', '=', merchantId)
        .execute();
      await enqueueReversal(trx, attemptId, { network: 'card', attemptId }, at);
      return true;
    });
  }

  async queueReversal(payload: ReversalPayload, at: Date): Promise<void> {
    const refId = payload.network === 'card' ? payload.attemptId : payload.requestId;
    await this.store.tx((trx) => enqueueReversal(trx, refId, payload, at));
  }

  async keyVersion(terminalId: string): Promise<number> {
    const merchantId = await this.terminalMerchant(terminalId);
    if (merchantId === null) return 0;
    const row = await this.db
      .selectFrom('link_terminal_keys')
      .select('key_version')
      .where('terminal_id', '=', terminalId)
      .where('merchant_id', '=', merchantId)
      .executeTakeFirst();
    return row?.key_version ?? 0;
  }

  async claimSignIn(terminalId: string, badVersion: number, lease: SignInLease): Promise<KeyClaim> {
    const now = lease.at.toISOString();
    const merchantId = await this.merchantOf(terminalId);
    await this.db
      .insertInto('link_terminal_keys')
      .values({
        terminal_id: terminalId,
        merchant_id: merchantId,
        key_version: 0,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['terminal_id', 'merchant_id']).doNothing())
      .execute();
    return this.store.tx(async (trx): Promise<KeyClaim> => {
      const row = await forUpdate(
        trx,
        trx
          .selectFrom('link_terminal_keys')
          .selectAll()
          .where('terminal_id', '=', terminalId)
          .where('merchant_id', '=', merchantId),
      ).executeTakeFirstOrThrow();
      if (row.key_version > badVersion && row.mac_key_under_tmk && row.mac_key_check) {
        return {
          kind: 'newer',
          version: row.key_version,
          sealed: { underTmkHex: row.mac_key_under_tmk, checkHex: row.mac_key_check },
        };
      }
      const leased =
        row.signing_in_by !== null &&
        row.signing_in_by !== lease.holder &&
        row.signing_in_until !== null &&
        row.signing_in_until > now;
      if (leased) return { kind: 'busy' };
      await trx
        .updateTable('link_terminal_keys')
        .set({ signing_in_by: lease.holder, signing_in_until: lease.until.toISOString(), updated_at: now })
        .where('terminal_id', '=', terminalId)
        .where('merchant_id', '=', merchantId)
        .execute();
      return { kind: 'won', version: row.key_version };
    });
  }

  async installKey(terminalId: string, sealed: SealedKeyHex, at: Date): Promise<number> {
    const now = at.toISOString();
    const merchantId = await this.merchantOf(terminalId);
    return this.store.tx(async (trx) => {
      const row = await forUpdate(
        trx,
        trx
          .selectFrom('link_terminal_keys')
          .select('key_version')
          .where('terminal_id', '=', terminalId)
          .where('merchant_id', '=', merchantId),
      ).executeTakeFirstOrThrow();
      // The host holds the keys of the last sign-in it answered, which is ours: whatever another
      // process stored meanwhile (only possible after our lease ran out) is older than this.
      const version = row.key_version + 1;
      await trx
        .updateTable('link_terminal_keys')
        .set({
          key_version: version,
          mac_key_under_tmk: sealed.underTmkHex,
          mac_key_check: sealed.checkHex,
          signed_in_at: now,
          signing_in_by: null,
          signing_in_until: null,
          updated_at: now,
        })
        .where('terminal_id', '=', terminalId)
        .where('merchant_id', '=', merchantId)
        .execute();
      return version;
    });
  }

  async releaseSignIn(terminalId: string, holder: string, at: Date): Promise<void> {
    const merchantId = await this.terminalMerchant(terminalId);
    if (merchantId === null) return;
    await this.db
      .updateTable('link_terminal_keys')
      .set({ signing_in_by: null, signing_in_until: null, updated_at: at.toISOString() })
      .where('terminal_id', '=', terminalId)
      .where('merchant_id', '=', merchantId)
      .where('signing_in_by', '=', holder)
      .execute();
  }
}
