import type { Logger } from 'pino';
import { ulid } from '../../ids.js';
import { decryptWorkingKey, Iso8583Error } from '../iso8583/index.js';
import type { LinkAttempt, LinkAttemptKind, LinkJournal, LinkTerminal } from '../journal.js';
import {
  type LinkStatus,
  type NetworkPort,
  type NetworkResult,
  NetworkUnavailableError,
  type RefundSubmission,
  type ReversalPayload,
  responseCodes,
  type SaleLookup,
  type SaleLookupResult,
  type SaleRequest,
  type SaleResult,
  type SettlementRequest,
  type SettlementTotals,
  type SubmitAck,
  type VoidRequest,
} from '../port.js';
import { AnswerTimeoutError, HostConnection } from './connection.js';
import {
  type InstalledKey,
  pause,
  type SealedKey,
  SignInBusyError,
  TerminalKeyStore,
} from './terminal-keys.js';
import { IsoFrameCodec, MAC_REJECTED, macValid, SIGN_IN_AGAIN, type WireMessage } from './wire.js';

/** After this many reversed attempts a refund is given up as failed (98: no answer). */
export const MAX_REFUND_ATTEMPTS = 3;
export const NO_ANSWER_CODE = '98';
/** The host took a request for a repeat of an earlier one (same trace number): nothing new applied. */
export const DUPLICATE_CODE = '94';
/** Trace numbers skipped because the batch already used them, before we refuse to send. */
const MAX_STAN_SKIPS = 1_000;
/** How long an answer or echo proves the link up before health asks the host again. */
export const DEFAULT_ECHO_INTERVAL_MS = 30_000;

/** `degraded`: the host answers, but the terminal's working keys are bad until a sign-in works. */
export type { LinkStatus } from '../port.js';

export interface CardLinkOptions {
  host: string;
  port: number;
  /** Attempts, trace numbers, terminals, shared keys and queued reversals: kept in our store. */
  journal: LinkJournal;
  log: Logger;
  /** Terminal master key (hex, 16 bytes) under which the host sends working keys at sign-in. */
  tmkHex: string;
  timeoutMs: number;
  /** Health: an echo (0820, which takes a trace number) at most this often. */
  echoIntervalMs?: number;
  clock?: () => Date;
}

/** What a reversal needs of the original: never the card number. */
interface ReversalData {
  mti: string;
  fields: Record<string, string>;
}

const amount12 = (minor: number) => String(minor).padStart(12, '0');

/** Field 63 is bytes on the wire (hex here): text goes as UTF-8, cut to the field's 163 bytes. */
export function text63(text: string): string {
  let bytes = Buffer.from(text, 'utf8');
  let chars = [...text];
  while (bytes.length > 163) {
    chars = chars.slice(0, -1);
    bytes = Buffer.from(chars.join(''), 'utf8');
  }
  return bytes.toString('hex').toUpperCase();
}

/** Operator 001 of the sign-in (63.1, an3). */
const OPERATOR_63 = text63('001');

/**
 * The card path over ISO 8583 (Hyperswitch-style connector): our requests become 0200/0220/0400/
 * 0500 messages to the acquirer host and its answers become our results. Every request is an
 * attempt recorded in the store before it is sent; an attempt left without an answer (timeout,
 * dropped link, crash) is reversed (0400) from the outbox until the host acknowledges it, and only
 * then may the same refund be tried again — so the host applies each refund at most once.
 */
export class CardLinkPort implements NetworkPort {
  readonly name = 'iso8583';
  private readonly conn: HostConnection<WireMessage>;
  private readonly handlers: ((r: NetworkResult) => Promise<void>)[] = [];
  private readonly clock: () => Date;
  private readonly tmk: Buffer;
  private readonly keys: TerminalKeyStore;
  private readonly leaseMs: number;
  /** Working keys this process uses, by terminal, each with the store version it was read at. */
  private readonly installed = new Map<string, InstalledKey>();
  /** Terminals whose key failed (MAC check, refused sign-in): the version found bad, and why. */
  private readonly keyTrouble = new Map<string, { version: number; reason: string }>();
  private readonly refreshing = new Map<string, Promise<InstalledKey>>();
  /** The last proof of the link: an answer or an echo, with when (monotonic ms). */
  private lastProof: { atMs: number; ok: boolean } | null = null;
  private echoing: Promise<boolean> | null = null;

  constructor(private readonly opts: CardLinkOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.tmk = Buffer.from(opts.tmkHex, 'hex');
    this.leaseMs = opts.timeoutMs + 2_000;
    this.keys = new TerminalKeyStore(opts.journal, this.tmk, this.leaseMs, this.clock);
    // Keys outlive the connection: the host keeps them until the next sign-in by anyone, and
    // every process on the store shares them, so a reconnect must not sign in (and rotate) again.
    this.conn = new HostConnection<WireMessage>({
      host: opts.host,
      port: opts.port,
      log: opts.log.child({ component: 'card-link' }),
      codec: new IsoFrameCodec((t) => this.installed.get(t)?.key ?? null),
    });
  }

  start(): void {
    this.conn.start();
  }

  // ---- terminal state ---------------------------------------------------------------------

  private async terminalFor(merchantId: string, terminalId: string | null): Promise<LinkTerminal> {
    const t = await this.opts.journal.findTerminal({ merchantId, terminalId });
    if (!t) throw new NetworkUnavailableError(`no terminal of merchant ${merchantId} for the card link`);
    return t;
  }

  /**
   * Next system trace audit number (field 11): counted in the shared store, so no two processes and
   * no restart repeat one, and never one this terminal already used in `batch`. After 999999 the
   * counter comes round; a host takes a repeated terminal + batch + STAN for a retransmission and
   * answers the old request, so used ones are skipped, and a batch that used them all must be
   * settled first.
   */
  private async nextStan(terminalId: string, batch: string): Promise<string> {
    for (let skipped = 0; skipped < MAX_STAN_SKIPS; skipped++) {
      const stan = await this.opts.journal.nextStan(terminalId);
      if (!(await this.opts.journal.stanUsed(terminalId, batch, stan))) return stan;
    }
    throw new NetworkUnavailableError(
      `terminal ${terminalId} has no unused trace number left in batch ${batch}: settle the batch first`,
    );
  }

  private batchOf(batchNo: number): string {
    return String(batchNo % 1_000_000).padStart(6, '0');
  }

  /** 0800 sign-in: the host returns the working keys under the terminal master key. */
  private async signIn(
    terminalId: string,
    merchantId: string,
    batchNo: number,
  ): Promise<{ sealed: SealedKey; key: Buffer }> {
    const batch = this.batchOf(batchNo);
    const stan = await this.nextStan(terminalId, batch);
    const answer = await this.conn.request(
      {
        mti: '0800',
        fields: {
          '11': stan,
          '41': terminalId,
          '42': merchantId,
          '60': `00${batch}003`,
          '63': OPERATOR_63,
        },
      },
      this.opts.timeoutMs,
    );
    if (answer.fields['39'] !== '00' || !answer.fields['62']) {
      throw new NetworkUnavailableError(`sign-in refused (${answer.fields['39'] ?? 'no code'})`);
    }
    const keys = Buffer.from(answer.fields['62'], 'hex');
    // 62 = PIN key (16) + its check value (4) + MAC key (16) + its check value (4).
    const sealed = { underTmk: keys.subarray(20, 36), check: keys.subarray(36, 40) };
    try {
      return { sealed, key: decryptWorkingKey(this.tmk, sealed.underTmk, sealed.check) };
    } catch (err) {
      if (!(err instanceof Iso8583Error)) throw err;
      throw new NetworkUnavailableError(
        'the working key from sign-in does not check out under our terminal master key (TERMINAL_MASTER_KEY)',
      );
    }
  }

  /**
   * The terminal's MAC key for the next request. The stored key version is read fresh every time:
   * when another process signed in since, its key is loaded instead of failing a MAC check first.
   */
  private async macKeyFor(terminalId: string, merchantId: string, batchNo: number): Promise<InstalledKey> {
    await this.conn.ensure();
    const cached = this.installed.get(terminalId);
    if (cached && (await this.keys.version(terminalId)) === cached.version) return cached;
    const bad = Math.max(cached?.version ?? 0, this.keyTrouble.get(terminalId)?.version ?? 0);
    return this.refreshKey(terminalId, merchantId, batchNo, bad);
  }

  /**
   * A key newer than `badVersion`: the stored one if another process already signed in, else our
   * own sign-in. Single-flight in this process, and across processes through the store's lease,
   * since every sign-in makes the host replace the terminal's keys for everyone.
   */
  private refreshKey(
    terminalId: string,
    merchantId: string,
    batchNo: number,
    badVersion: number,
  ): Promise<InstalledKey> {
    let pending = this.refreshing.get(terminalId);
    if (!pending) {
      pending = this.loadOrSignIn(terminalId, merchantId, batchNo, badVersion).finally(() =>
        this.refreshing.delete(terminalId),
      );
      this.refreshing.set(terminalId, pending);
    }
    return pending;
  }

  private async loadOrSignIn(
    terminalId: string,
    merchantId: string,
    batchNo: number,
    badVersion: number,
  ): Promise<InstalledKey> {
    const deadline = performance.now() + this.leaseMs;
    let bad = badVersion;
    while (performance.now() < deadline) {
      const claim = await this.keys.claimSignIn(terminalId, bad);
      if (claim.kind === 'busy') {
        await pause(50);
        continue;
      }
      if (claim.kind === 'newer') {
        const opened = this.keys.open(claim.version, claim.sealed);
        if (opened) return this.install(terminalId, opened);
        bad = claim.version; // stored under another master key: ours must sign in
        continue;
      }
      let fresh: { sealed: SealedKey; key: Buffer };
      try {
        fresh = await this.signIn(terminalId, merchantId, batchNo);
      } catch (err) {
        await this.keys.release(terminalId);
        this.keyTrouble.set(terminalId, { version: bad, reason: (err as Error).message });
        throw err;
      }
      const version = await this.keys.install(terminalId, fresh.sealed);
      this.opts.log.info({ terminalId, keyVersion: version }, 'terminal signed in; working keys installed');
      return this.install(terminalId, { version, key: fresh.key });
    }
    throw new SignInBusyError(terminalId);
  }

  private install(terminalId: string, key: InstalledKey): InstalledKey {
    this.installed.set(terminalId, key);
    this.keyTrouble.delete(terminalId);
    return key;
  }

  /**
   * The host's keys are not the ones we used (someone signed in — a foreign 0800, another process
   * — or the host lost them): forget ours and sign in again now, so the next request works.
   */
  private keyFailed(terminal: LinkTerminal, used: InstalledKey, reason: string): Promise<InstalledKey> {
    if (this.installed.get(terminal.id)?.version === used.version) this.installed.delete(terminal.id);
    const known = this.keyTrouble.get(terminal.id)?.version ?? 0;
    this.keyTrouble.set(terminal.id, { version: Math.max(known, used.version), reason });
    this.opts.log.warn({ terminalId: terminal.id, keyVersion: used.version, reason }, 'working key failed');
    const fresh = this.refreshKey(terminal.id, terminal.merchantId, terminal.batchNo, used.version);
    fresh.catch((err: Error) =>
      this.opts.log.warn({ err: err.message }, 'sign-in after a key failure failed'),
    );
    return fresh;
  }

  // ---- attempts ---------------------------------------------------------------------------

  private attemptsOf(refId: string): Promise<LinkAttempt[]> {
    return this.opts.journal.attemptsOf(refId);
  }

  private updateAttempt(id: string, set: Parameters<LinkJournal['updateAttempt']>[1]): Promise<void> {
    return this.opts.journal.updateAttempt(id, set, this.clock());
  }

  /** Mark an unanswered attempt for reversal and queue the 0400 in the same transaction. */
  private async startReversal(attemptId: string): Promise<void> {
    if (await this.opts.journal.markForReversal(attemptId, this.clock()))
      this.opts.log.warn({ attemptId }, 'no answer from the host: reversal queued');
  }

  /**
   * Send one financial request as a recorded attempt. Returns the answer, or throws
   * NetworkUnavailableError (nothing sent, or sent and now being reversed).
   */
  private async attempt(
    kind: LinkAttemptKind,
    refId: string,
    merchantId: string,
    terminalId: string | null,
    build: (stan: string, batch: string, terminalId: string) => WireMessage,
    reversal: (stan: string, batch: string) => ReversalData,
  ): Promise<{ answer: WireMessage; attempt: LinkAttempt }> {
    const terminal = await this.terminalFor(merchantId, terminalId);
    const used = await this.macKeyFor(terminal.id, merchantId, terminal.batchNo);
    const batch = this.batchOf(terminal.batchNo);
    const stan = await this.nextStan(terminal.id, batch);
    const now = this.clock().toISOString();
    const row: LinkAttempt = {
      id: `la_${ulid()}`,
      kind,
      refId,
      terminalId: terminal.id,
      stan,
      batchNo: batch,
      requestJson: JSON.stringify(reversal(stan, batch)),
      state: 'sent',
      responseCode: null,
      reference: null,
      createdAt: now,
      updatedAt: now,
    };
    // Recorded before it leaves: a crash from here on is found and reversed on the next try.
    await this.opts.journal.recordAttempt(row);
    let answer: WireMessage;
    try {
      answer = await this.conn.request(
        { ...build(stan, batch, terminal.id), macKey: used.key },
        this.opts.timeoutMs,
      );
    } catch (err) {
      if (err instanceof AnswerTimeoutError) {
        await this.startReversal(row.id);
        throw new NetworkUnavailableError(
          `no answer from the acquirer within ${this.opts.timeoutMs} ms; reversed automatically`,
        );
      }
      // Not sent at all: nothing to reverse.
      await this.updateAttempt(row.id, { state: 'unsent' });
      throw err;
    }
    this.proveLink(true);
    if (!macValid(answer, used.key)) {
      // An answer we cannot trust is no answer; and our key is likely not the host's any more.
      this.opts.log.error({ attemptId: row.id }, 'answer with a bad MAC: reversing');
      void this.keyFailed(terminal, used, 'an answer failed its MAC check').catch(() => undefined);
      await this.startReversal(row.id);
      throw new NetworkUnavailableError('the acquirer answer failed its MAC check; reversed automatically');
    }
    const code = answer.fields['39'] ?? responseCodes.systemError;
    if (code === MAC_REJECTED || code === SIGN_IN_AGAIN) {
      // The host refused our MAC or key and applied nothing: sign in again and retry later.
      void this.keyFailed(terminal, used, `the host refused the working key (${code})`).catch(
        () => undefined,
      );
      await this.updateAttempt(row.id, { state: 'unsent', responseCode: code });
      throw new NetworkUnavailableError(`the host refused the working key (${code}); signing in again`);
    }
    const reference = answer.fields['37'] ?? null;
    const repeated =
      code === '00' && reference !== null && (await this.opts.journal.referenceTaken(reference, row.id));
    if (repeated) {
      // The host answered an earlier request with this trace number, not ours: nothing new was applied.
      this.opts.log.error(
        { attemptId: row.id, reference },
        'answer carries the reference of an earlier request',
      );
    }
    const done = {
      state: 'answered' as const,
      responseCode: repeated ? DUPLICATE_CODE : code,
      reference: repeated ? null : reference,
    };
    await this.updateAttempt(row.id, done);
    return { answer, attempt: { ...row, ...done } };
  }

  /** Before a new attempt: an earlier one that never got an answer must be reversed first. */
  private async settlePrevious(refId: string): Promise<LinkAttempt | null> {
    const attempts = await this.attemptsOf(refId);
    const last = attempts[attempts.length - 1];
    if (!last) return null;
    if (last.state === 'sent') {
      await this.startReversal(last.id);
      throw new NetworkUnavailableError('an earlier attempt is unanswered; reversing it first');
    }
    if (last.state === 'reversing')
      throw new NetworkUnavailableError('waiting for the reversal to be acknowledged');
    return last;
  }

  // ---- NetworkPort --------------------------------------------------------------------------

  /** Health without side effects on the host: the link as last proven; an echo at most every N s. */
  async status(): Promise<LinkStatus> {
    // Let socket events already received (a close from the host) land before we look.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!this.conn.isConnected) {
      try {
        await this.conn.ensure();
      } catch {
        return 'down';
      }
      if (!this.conn.isConnected) return 'down';
    }
    if (this.keyTrouble.size > 0) return 'degraded';
    const proof = this.lastProof;
    const interval = this.opts.echoIntervalMs ?? DEFAULT_ECHO_INTERVAL_MS;
    if (proof && performance.now() - proof.atMs < interval) return proof.ok ? 'up' : 'down';
    return (await this.echoOnce()) ? 'up' : 'down';
  }

  /** Is the card link usable: connected, answering, and with working keys that the host accepts. */
  async echo(): Promise<boolean> {
    return (await this.status().catch(() => 'down' as const)) === 'up';
  }

  /** Terminals whose keys are bad right now, and why (for health and logs). */
  keyProblems(): { terminalId: string; reason: string }[] {
    return [...this.keyTrouble].map(([terminalId, t]) => ({ terminalId, reason: t.reason }));
  }

  private proveLink(ok: boolean): void {
    this.lastProof = { atMs: performance.now(), ok };
  }

  /** One 0820 at a time, however many health checks wait for it. */
  private echoOnce(): Promise<boolean> {
    this.echoing ??= this.sendEcho()
      .then((ok) => {
        this.proveLink(ok);
        return ok;
      })
      .finally(() => {
        this.echoing = null;
      });
    return this.echoing;
  }

  private async sendEcho(): Promise<boolean> {
    try {
      const t = await this.opts.journal.findTerminal({});
      if (!t) return this.conn.isConnected;
      const batch = this.batchOf(t.batchNo);
      const stan = await this.nextStan(t.id, batch);
      const a = await this.conn.request(
        { mti: '0820', fields: { '11': stan, '41': t.id, '42': t.merchantId, '60': `00${batch}301` } },
        Math.min(this.opts.timeoutMs, 3_000),
      );
      return a.fields['39'] === '00';
    } catch {
      return false;
    }
  }

  async authorizeSale(req: SaleRequest): Promise<SaleResult> {
    const previous = await this.settlePrevious(req.requestId);
    if (previous?.state === 'answered') {
      return {
        approved: previous.responseCode === '00',
        reference: previous.reference ?? '',
        responseCode: previous.responseCode ?? '96',
      };
    }
    if (!req.pan) throw new NetworkUnavailableError('a card sale needs the card number');
    const base = (stan: string, batch: string) => ({
      '3': '000000',
      '4': amount12(req.amountMinor),
      '11': stan,
      '22': '021',
      '25': '00',
      '42': req.merchantId,
      '49': '156',
      '60': `22${batch}000`,
    });
    const { answer, attempt } = await this.attempt(
      'sale',
      req.requestId,
      req.merchantId,
      req.terminalId,
      (stan, batch, terminalId) => ({
        mti: '0200',
        fields: {
          ...base(stan, batch),
          '2': req.pan ?? '',
          ...(req.expiry ? { '14': req.expiry } : {}),
          '41': terminalId,
        },
      }),
      (stan, batch) => ({ mti: '0200', fields: base(stan, batch) }),
    );
    return {
      approved: attempt.responseCode === '00',
      reference: answer.fields['37'] ?? '',
      responseCode: attempt.responseCode ?? '96',
    };
  }

  /**
   * What became of a sale, from the journal alone (nothing is sent, no card number needed): the
   * host's answer if it gave one; `not_sent` when no attempt left, or the last one was refused
   * unapplied or reversed; an attempt still unanswered is reversed first (`pending` until the host
   * acknowledged the reversal, then `not_sent`).
   */
  async lookupSale(req: SaleLookup): Promise<SaleLookupResult> {
    const attempts = await this.attemptsOf(req.requestId);
    const last = attempts[attempts.length - 1];
    if (!last || last.state === 'unsent' || last.state === 'reversed') return { state: 'not_sent' };
    if (last.state === 'sent') await this.startReversal(last.id);
    if (last.state !== 'answered') return { state: 'pending' };
    const code = last.responseCode ?? responseCodes.systemError;
    return code === responseCodes.approved
      ? { state: 'approved', reference: last.reference ?? '' }
      : { state: 'declined', responseCode: code };
  }

  async voidSale(req: VoidRequest): Promise<{ approved: boolean; responseCode: string }> {
    const previous = await this.settlePrevious(req.requestId);
    if (previous?.state === 'answered')
      return { approved: previous.responseCode === '00', responseCode: previous.responseCode ?? '96' };
    const original = await this.originalOf(req.originalReference);
    const fields = (stan: string, batch: string) => ({
      '3': '200000',
      '4': amount12(req.amountMinor),
      '11': stan,
      '25': '00',
      '37': req.originalReference,
      '42': req.merchantId,
      '49': '156',
      '60': `23${batch}000`,
      '61': `${original.batch}${original.stan}`,
    });
    const { attempt } = await this.attempt(
      'void',
      req.requestId,
      req.merchantId,
      req.terminalId,
      (stan, batch, terminalId) => ({ mti: '0200', fields: { ...fields(stan, batch), '41': terminalId } }),
      (stan, batch) => ({ mti: '0200', fields: fields(stan, batch) }),
    );
    return { approved: attempt.responseCode === '00', responseCode: attempt.responseCode ?? '96' };
  }

  /** Batch and trace of the original sale, for field 61. */
  private async originalOf(reference: string): Promise<{ batch: string; stan: string; date: string }> {
    const a = await this.opts.journal.originalSale(reference);
    const date = (a?.createdAt ?? this.clock().toISOString()).slice(5, 10).replace('-', '');
    return { batch: a?.batchNo ?? '000000', stan: a?.stan ?? '000000', date };
  }

  async submitRefund(req: RefundSubmission): Promise<SubmitAck> {
    const previous = await this.settlePrevious(req.requestId);
    if (previous?.state === 'answered') return this.ackOf(req.requestId, previous);
    const reversed = (await this.attemptsOf(req.requestId)).filter((a) => a.state === 'reversed').length;
    if (reversed >= MAX_REFUND_ATTEMPTS)
      return { kind: 'declined', reference: null, responseCode: NO_ANSWER_CODE };
    const original = await this.originalOf(req.originalReference);
    const reason = `${req.reason.code}${req.reason.note ? ` ${req.reason.note}` : ''}`.slice(0, 160);
    const fields = (stan: string, batch: string) => ({
      '3': '200000',
      '4': amount12(req.amountMinor),
      '11': stan,
      '25': '00',
      '37': req.originalReference,
      '42': req.merchantId,
      '49': '156',
      '60': `25${batch}000`,
      '61': `${original.batch}${original.stan}${original.date}`,
    });
    const { attempt } = await this.attempt(
      'refund',
      req.requestId,
      req.merchantId,
      req.terminalId,
      (stan, batch, terminalId) => ({
        mti: '0220',
        fields: { ...fields(stan, batch), '41': terminalId, '63': text63(reason) },
      }),
      (stan, batch) => ({ mti: '0220', fields: fields(stan, batch) }),
    );
    return this.ackOf(req.requestId, attempt);
  }

  /** A card refund's answer is final: accepted → the result follows at once. */
  private ackOf(requestId: string, a: LinkAttempt): SubmitAck {
    const code = a.responseCode ?? responseCodes.systemError;
    if (code !== '00') return { kind: 'declined', reference: a.reference, responseCode: code };
    const result: NetworkResult = {
      requestId,
      reference: a.reference ?? '',
      outcome: 'succeeded',
      responseCode: code,
    };
    setImmediate(() => {
      for (const h of this.handlers) void h(result).catch(() => undefined);
    });
    return { kind: 'accepted', reference: a.reference ?? '' };
  }

  async queryRefund(requestId: string): Promise<NetworkResult | null> {
    const attempts = await this.attemptsOf(requestId);
    const answered = attempts.find((a) => a.state === 'answered');
    if (!answered) return null;
    const code = answered.responseCode ?? responseCodes.systemError;
    return {
      requestId,
      reference: answered.reference ?? '',
      outcome: code === '00' ? 'succeeded' : 'failed',
      responseCode: code,
    };
  }

  /**
   * 0400 for an unanswered attempt; resolves when the host acknowledged it (0410, any code). An
   * answer that fails its MAC check means the host's keys changed: sign in again and repeat the
   * reversal once (the host reverses a trace number at most once, so a repeat is harmless).
   */
  async reverse(payload: ReversalPayload): Promise<void> {
    if (payload.network !== 'card')
      throw new Error(`the card link cannot reverse a ${payload.network} request`);
    const a = await this.opts.journal.attempt(payload.attemptId);
    if (a?.state !== 'reversing') return;
    const terminal = await this.opts.journal.findTerminal({ terminalId: a.terminalId });
    if (!terminal) throw new Error(`attempt ${a.id}: terminal ${a.terminalId} is gone`);
    const message = this.reversalOf(a, terminal);
    let key = await this.macKeyFor(terminal.id, terminal.merchantId, terminal.batchNo);
    let answer = await this.sendReversal(message, key);
    if (!macValid(answer, key.key)) {
      key = await this.keyFailed(terminal, key, 'a reversal answer failed its MAC check');
      answer = await this.sendReversal(message, key);
      if (!macValid(answer, key.key))
        throw new NetworkUnavailableError('reversal answer failed its MAC check after a fresh sign-in');
    }
    await this.updateAttempt(a.id, { state: 'reversed', responseCode: answer.fields['39'] ?? null });
    this.opts.log.info({ attemptId: a.id, kind: a.kind }, 'reversal acknowledged');
  }

  private reversalOf(a: LinkAttempt, terminal: LinkTerminal): WireMessage {
    const original = JSON.parse(a.requestJson) as ReversalData;
    const fields: Record<string, string> = {
      '3': original.fields['3'] ?? '000000',
      '4': original.fields['4'] ?? amount12(0),
      '11': a.stan,
      '25': original.fields['25'] ?? '00',
      '39': NO_ANSWER_CODE,
      '41': terminal.id,
      '42': terminal.merchantId,
      '49': '156',
      '60': original.fields['60'] ?? `00${a.batchNo}000`,
    };
    if (original.fields['37']) fields['37'] = original.fields['37'];
    if (original.fields['61']) fields['61'] = original.fields['61'];
    return { mti: '0400', fields };
  }

  private async sendReversal(message: WireMessage, key: InstalledKey): Promise<WireMessage> {
    try {
      const answer = await this.conn.request({ ...message, macKey: key.key }, this.opts.timeoutMs);
      this.proveLink(true);
      return answer;
    } catch (err) {
      throw err instanceof AnswerTimeoutError
        ? new NetworkUnavailableError('reversal unanswered; will repeat')
        : err;
    }
  }

  /**
   * One settlement message (0500 or 0320) under the terminal's MAC. A host that refuses our MAC
   * (A0, 77) applied nothing: sign in again and send it once more. An answer whose own MAC fails
   * is not believed: the keys are renewed and the settlement fails, to be repeated by its caller.
   */
  private async settlementExchange(terminal: LinkTerminal, message: WireMessage): Promise<WireMessage> {
    let key = await this.macKeyFor(terminal.id, terminal.merchantId, terminal.batchNo);
    let answer = await this.conn.request({ ...message, macKey: key.key }, this.opts.timeoutMs);
    const code = answer.fields['39'];
    if (code === MAC_REJECTED || code === SIGN_IN_AGAIN) {
      key = await this.keyFailed(terminal, key, `the host refused the MAC of a ${message.mti}`);
      answer = await this.conn.request({ ...message, macKey: key.key }, this.opts.timeoutMs);
    }
    if (!macValid(answer, key.key)) {
      this.opts.log.error({ terminalId: terminal.id, mti: answer.mti }, 'settlement answer with a bad MAC');
      void this.keyFailed(terminal, key, `a ${answer.mti} failed its MAC check`).catch(() => undefined);
      throw new NetworkUnavailableError(`the acquirer's ${answer.mti} failed its MAC check`);
    }
    this.proveLink(true);
    return answer;
  }

  /** 0500 with our debit/credit totals; if the host disagrees, 0320 batch upload, then its totals. */
  async settle(req: SettlementRequest): Promise<SettlementTotals> {
    const terminal = await this.terminalFor(req.merchantId, req.terminalId);
    await this.macKeyFor(terminal.id, req.merchantId, terminal.batchNo);
    const batch = this.batchOf(req.batchNo);
    const totals48 = (t: SettlementTotals) =>
      `${amount12(t.sales.amountMinor)}${String(t.sales.count).padStart(3, '0')}` +
      `${amount12(t.refunds.amountMinor)}${String(t.refunds.count).padStart(3, '0')}0`;
    const stan = await this.nextStan(terminal.id, batch);
    const answer = await this.settlementExchange(terminal, {
      mti: '0500',
      fields: {
        '11': stan,
        '41': terminal.id,
        '42': req.merchantId,
        '48': totals48(req.local),
        '49': '156',
        '60': `00${batch}201`,
      },
    });
    const f48 = answer.fields['48'] ?? '';
    if (answer.fields['39'] !== '00' || f48.length < 31) {
      throw new NetworkUnavailableError(`settlement refused (${answer.fields['39'] ?? 'no code'})`);
    }
    const network: SettlementTotals = {
      sales: { amountMinor: Number(f48.slice(0, 12)), count: Number(f48.slice(12, 15)) },
      refunds: { amountMinor: Number(f48.slice(15, 27)), count: Number(f48.slice(27, 30)) },
      // The host does not count voids: they cancel sales inside the batch.
      voids: req.local.voids,
    };
    if (f48[30] !== '1') {
      // 批上送: tell the host every transaction of ours so its operators can find the difference.
      const sent = await this.opts.journal.approvedInBatch(terminal.id, batch);
      for (const a of sent) {
        const s = await this.nextStan(terminal.id, batch);
        const o = JSON.parse(a.requestJson) as ReversalData;
        await this.settlementExchange(terminal, {
          mti: '0320',
          fields: {
            '3': o.fields['3'] ?? '000000',
            '4': o.fields['4'] ?? amount12(0),
            '11': s,
            '37': a.reference ?? '',
            '41': terminal.id,
            '42': req.merchantId,
            '60': `00${batch}201`,
          },
        });
      }
    }
    return network;
  }

  onResult(handler: (r: NetworkResult) => Promise<void>): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}
