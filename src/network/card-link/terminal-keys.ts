import { randomUUID } from 'node:crypto';
import { decryptWorkingKey } from '../iso8583/index.js';
import type { KeyClaim, LinkJournal, SealedKeyHex } from '../journal.js';
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

/** Newer key stored by another process, our sign-in lease, or busy: see KeyClaim in journal.ts. */
export type SignInClaim = KeyClaim;

/**
 * The terminal key state every process on the store shares (migration 0006), kept through the
 * link journal. One sign-in at the acquirer replaces the terminal's working keys for everyone, so
 * a process signs in only when the stored key is the very version it found bad, and only while
 * holding the row's short sign-in lease; everyone else re-reads the stored key. The key is stored
 * as the host sent it, encrypted under the terminal master key with its check value, and
 * decrypted in memory only.
 */
export class TerminalKeyStore {
  /** Who holds a lease: this process's instance. */
  readonly holder = `p_${randomUUID()}`;

  constructor(
    private readonly journal: LinkJournal,
    private readonly tmk: Buffer,
    private readonly leaseMs: number,
    private readonly clock: () => Date,
  ) {}

  /** The stored key version (0: never signed in), read fresh: one indexed row. */
  version(terminalId: string): Promise<number> {
    return this.journal.keyVersion(terminalId);
  }

  /** The clear key of a stored one; null when it does not check out under our TMK. */
  open(version: number, sealed: SealedKeyHex): InstalledKey | null {
    try {
      const underTmk = Buffer.from(sealed.underTmkHex, 'hex');
      return { version, key: decryptWorkingKey(this.tmk, underTmk, Buffer.from(sealed.checkHex, 'hex')) };
    } catch {
      return null;
    }
  }

  /** The stored key if it is newer than `badVersion`, else the sign-in lease if nobody else holds a live one. */
  claimSignIn(terminalId: string, badVersion: number): Promise<SignInClaim> {
    const at = this.clock();
    return this.journal.claimSignIn(terminalId, badVersion, {
      holder: this.holder,
      at,
      until: new Date(at.getTime() + this.leaseMs),
    });
  }

  /** After our sign-in: store the new key as the next version and give the lease back. */
  install(terminalId: string, sealed: SealedKey): Promise<number> {
    return this.journal.installKey(
      terminalId,
      {
        underTmkHex: sealed.underTmk.toString('hex').toUpperCase(),
        checkHex: sealed.check.toString('hex').toUpperCase(),
      },
      this.clock(),
    );
  }

  /** Give the lease back after a failed sign-in, so another process need not wait it out. */
  release(terminalId: string): Promise<void> {
    return this.journal.releaseSignIn(terminalId, this.holder, this.clock());
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
