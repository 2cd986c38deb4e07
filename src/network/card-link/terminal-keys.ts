import { randomUUID } from 'node:crypto';
import { forUpdate, type Store } from '../../store/db.js';
import { decryptWorkingKey } from '../iso8583/index.js';
import { NetworkUnavailableError } from '../port.js';

/** A working MAC key installed in this process, and the version of the store row it came from. */
export interface InstalledKey {
  version: number;
  key: Buffer;
}

/** What a sign-in answer (0810 field 62) gives us for the MAC key: still under the TMK. */
export interface SealedKey {
  underTmk: Buffer;
  check: Buffer;
}

export type SignInClaim =
  /** Another process already installed a key newer than the one we found bad: use it. */
  | { kind: 'newer'; version: number; sealed: SealedKey }
  /** We hold the sign-in lease: sign in, then `install`. */
  | { kind: 'won'; version: number }
  /** Another process is signing in right now: wait and look again. */
  | { kind: 'busy' };

/**
 * The terminal key state every process on the store shares (migration 0006). One sign-in at the
 * acquirer replaces the terminal's working keys for everyone, so a process signs in only when the
 * stored key is the very version it found bad, and only while holding the row's short sign-in
 * lease; everyone else re-reads the stored key. The key is stored as the host sent it, encrypted
 * under the terminal master key with its check value, and decrypted in memory only.
 */
export class TerminalKeyStore {
  /** Who holds a lease: this process's instance. */
  readonly holder = `p_${randomUUID()}`;

  constructor(
    private readonly store: Store,
    private readonly tmk: Buffer,
    private readonly leaseMs: number,
    private readonly clock: () => Date,
  ) {}

  /** The stored key version (0: never signed in), read fresh: one indexed row. */
  async version(terminalId: string): Promise<number> {
    const row = await this.store.db
      .selectFrom('link_terminal_keys')
      .select('key_version')
      .where('terminal_id', '=', terminalId)
      .executeTakeFirst();
    return row?.key_version ?? 0;
  }

  /** The clear key of a sealed one; null when it does not check out under our TMK. */
  open(version: number, sealed: SealedKey): InstalledKey | null {
    try {
      return { version, key: decryptWorkingKey(this.tmk, sealed.underTmk, sealed.check) };
    } catch {
      return null;
    }
  }

  /**
   * Under the row lock: the stored key if it is newer than `badVersion`, else the sign-in lease if
   * nobody else holds a live one.
   */
  async claimSignIn(terminalId: string, badVersion: number): Promise<SignInClaim> {
    const now = this.clock();
    await this.store.db
      .insertInto('link_terminal_keys')
      .values({ terminal_id: terminalId, key_version: 0, updated_at: now.toISOString() })
      .onConflict((oc) => oc.column('terminal_id').doNothing())
      .execute();
    return this.store.tx(async (trx): Promise<SignInClaim> => {
      const row = await forUpdate(
        trx,
        trx.selectFrom('link_terminal_keys').selectAll().where('terminal_id', '=', terminalId),
      ).executeTakeFirstOrThrow();
      if (row.key_version > badVersion && row.mac_key_under_tmk && row.mac_key_check) {
        return {
          kind: 'newer',
          version: row.key_version,
          sealed: {
            underTmk: Buffer.from(row.mac_key_under_tmk, 'hex'),
            check: Buffer.from(row.mac_key_check, 'hex'),
          },
        };
      }
      const leased =
        row.signing_in_by !== null &&
        row.signing_in_by !== this.holder &&
        row.signing_in_until !== null &&
        row.signing_in_until > now.toISOString();
      if (leased) return { kind: 'busy' };
      await trx
        .updateTable('link_terminal_keys')
        .set({
          signing_in_by: this.holder,
          signing_in_until: new Date(now.getTime() + this.leaseMs).toISOString(),
          updated_at: now.toISOString(),
        })
        .where('terminal_id', '=', terminalId)
        .execute();
      return { kind: 'won', version: row.key_version };
    });
  }

  /** After our sign-in: store the new key as the next version and give the lease back. */
  async install(terminalId: string, sealed: SealedKey): Promise<number> {
    const now = this.clock().toISOString();
    return this.store.tx(async (trx) => {
      const row = await forUpdate(
        trx,
        trx.selectFrom('link_terminal_keys').select('key_version').where('terminal_id', '=', terminalId),
      ).executeTakeFirstOrThrow();
      // The host holds the keys of the last sign-in it answered, which is ours: whatever another
      // process stored meanwhile (only possible after our lease ran out) is older than this.
      const version = row.key_version + 1;
      await trx
        .updateTable('link_terminal_keys')
        .set({
          key_version: version,
          mac_key_under_tmk: sealed.underTmk.toString('hex').toUpperCase(),
          mac_key_check: sealed.check.toString('hex').toUpperCase(),
          signed_in_at: now,
          signing_in_by: null,
          signing_in_until: null,
          updated_at: now,
        })
        .where('terminal_id', '=', terminalId)
        .execute();
      return version;
    });
  }

  /** Give the lease back after a failed sign-in, so another process need not wait it out. */
  async release(terminalId: string): Promise<void> {
    await this.store.db
      .updateTable('link_terminal_keys')
      .set({ signing_in_by: null, signing_in_until: null, updated_at: this.clock().toISOString() })
      .where('terminal_id', '=', terminalId)
      .where('signing_in_by', '=', this.holder)
      .execute();
  }
}

/** Waits `ms`, for polling another process's sign-in. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SignInBusyError extends NetworkUnavailableError {
  constructor(terminalId: string) {
    super(`terminal ${terminalId}: another process's sign-in did not finish in time`);
    this.name = 'SignInBusyError';
  }
}
