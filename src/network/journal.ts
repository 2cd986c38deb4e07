/**
 * The journal port: everything a network adapter must remember across requests, processes and
 * restarts, declared here beside NetworkPort and implemented in store/ (store/link-journal.ts).
 * The adapters themselves stay stateless — they get a journal and never import the store — so
 * network/ depends on nothing but this interface. Types only.
 */
import type { ReversalPayload } from './port.js';

export type LinkAttemptKind = 'sale' | 'void' | 'refund';

/**
 * `sent` → `answered` (the host answered, whatever the code) | `unsent` (it never left, or the host
 * refused our key and applied nothing) | `reversing` (no usable answer: a 0400 is queued) → `reversed`.
 */
export type LinkAttemptState = 'sent' | 'answered' | 'unsent' | 'reversing' | 'reversed';

/** One financial request to the card host, recorded before it leaves. */
export interface LinkAttempt {
  id: string;
  kind: LinkAttemptKind;
  /** Our request id (payment, void or refund id): every attempt of one request shares it. */
  refId: string;
  terminalId: string;
  /** Field 11, six digits. */
  stan: string;
  /** The batch the trace number belongs to, six digits. */
  batchNo: string;
  /** What a reversal or batch upload needs of the request (MTI and fields; never the card number), JSON. */
  requestJson: string;
  state: LinkAttemptState;
  responseCode: string | null;
  /** Field 37 of the answer (RRN), when the host gave one. */
  reference: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What an answer, a refusal or a reversal changes on an attempt. */
export type LinkAttemptUpdate = Partial<Pick<LinkAttempt, 'state' | 'responseCode' | 'reference'>>;

/** A terminal as the card link sees it. */
export interface LinkTerminal {
  id: string;
  merchantId: string;
  batchNo: number;
}

/** A working key as the host sent it at sign-in: under the terminal master key, hex, with its check value. */
export interface SealedKeyHex {
  underTmkHex: string;
  checkHex: string;
}

export type KeyClaim =
  /** Another process already stored a key newer than the one we found bad: use it. */
  | { kind: 'newer'; version: number; sealed: SealedKeyHex }
  /** We hold the sign-in lease now: sign in, then `installKey`. */
  | { kind: 'won'; version: number }
  /** Another process holds a live lease: wait and look again. */
  | { kind: 'busy' };

/** The sign-in lease: who asks, and until when the lease would hold. */
export interface SignInLease {
  holder: string;
  at: Date;
  until: Date;
}

export interface LinkJournal {
  // ---- terminals and trace numbers ----------------------------------------------------------
  /** The terminal of a merchant (a given one, or its first), or the first of all; null when none. */
  findTerminal(where: { merchantId?: string; terminalId?: string | null }): Promise<LinkTerminal | null>;
  /**
   * The terminal's next trace number from its counter shared by every process (1…999999, then round
   * again), six digits. Atomic: no two callers get the same value from one turn of the counter.
   */
  nextStan(terminalId: string): Promise<string>;
  /** Has this terminal already used the trace number in the batch (a host would take it for a repeat)? */
  stanUsed(terminalId: string, batchNo: string, stan: string): Promise<boolean>;

  // ---- attempts -----------------------------------------------------------------------------
  /** Record an attempt before it is sent. */
  recordAttempt(attempt: LinkAttempt): Promise<void>;
  updateAttempt(id: string, set: LinkAttemptUpdate, at: Date): Promise<void>;
  attempt(id: string): Promise<LinkAttempt | null>;
  /** Every attempt of one request, oldest first. */
  attemptsOf(refId: string): Promise<LinkAttempt[]>;
  /** Does another attempt already carry this reference (the host answered an older request)? */
  referenceTaken(reference: string, exceptAttemptId: string): Promise<boolean>;
  /** The sale attempt the host answered with this reference (for a void's or refund's field 61). */
  originalSale(reference: string): Promise<LinkAttempt | null>;
  /** Approved attempts of a terminal's batch (the batch upload after a disagreeing settlement). */
  approvedInBatch(terminalId: string, batchNo: string): Promise<LinkAttempt[]>;

  // ---- reversals ----------------------------------------------------------------------------
  /**
   * A `sent` attempt becomes `reversing` and its reversal is queued in the outbox, in one
   * transaction; false (nothing done) when the attempt is in any other state.
   */
  markForReversal(attemptId: string, at: Date): Promise<boolean>;
  /** Queue a reversal in the outbox (a QR sale that got no answer is cancelled by its id). */
  queueReversal(payload: ReversalPayload, at: Date): Promise<void>;

  // ---- terminal keys, shared by every process on the store ----------------------------------
  /** The stored key version (0: never signed in), read fresh. */
  keyVersion(terminalId: string): Promise<number>;
  /**
   * Under the key row's lock: the stored key if it is newer than `badVersion`, else the sign-in
   * lease if nobody else holds a live one.
   */
  claimSignIn(terminalId: string, badVersion: number, lease: SignInLease): Promise<KeyClaim>;
  /** Store the key of our sign-in as the next version and give the lease back; the new version. */
  installKey(terminalId: string, sealed: SealedKeyHex, at: Date): Promise<number>;
  /** Give the lease back after a failed sign-in (only if `holder` holds it). */
  releaseSignIn(terminalId: string, holder: string, at: Date): Promise<void>;
}
