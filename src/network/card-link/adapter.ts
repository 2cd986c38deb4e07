import type { Logger } from 'pino';
import { ulid } from 'ulid';
import type { Store } from '../../store/db.js';
import { enqueueOutbox } from '../../store/repo.js';
import type { LinkAttemptTable } from '../../store/schema.js';
import { decryptWorkingKey } from '../iso8583/index.js';
import {
  type NetworkPort,
  type NetworkResult,
  NetworkUnavailableError,
  REVERSE_KIND,
  type RefundSubmission,
  responseCodes,
  type SaleRequest,
  type SaleResult,
  type SettlementRequest,
  type SettlementTotals,
  type SubmitAck,
  type VoidRequest,
} from '../port.js';
import { AnswerTimeoutError, HostConnection } from './connection.js';
import { IsoFrameCodec, MAC_REJECTED, macValid, SIGN_IN_AGAIN, type WireMessage } from './wire.js';

/** After this many reversed attempts a refund is given up as failed (98: no answer). */
export const MAX_REFUND_ATTEMPTS = 3;
export const NO_ANSWER_CODE = '98';

export interface CardLinkOptions {
  host: string;
  port: number;
  store: Store;
  log: Logger;
  /** Terminal master key (hex, 16 bytes) under which the host sends working keys at sign-in. */
  tmkHex: string;
  timeoutMs: number;
  clock?: () => Date;
}

type AttemptKind = 'sale' | 'void' | 'refund';

/** What a reversal needs of the original: never the card number. */
interface ReversalData {
  mti: string;
  fields: Record<string, string>;
}

const amount12 = (minor: number) => String(minor).padStart(12, '0');

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
  private readonly macKeys = new Map<string, Buffer>();
  private readonly handlers: ((r: NetworkResult) => Promise<void>)[] = [];
  private readonly clock: () => Date;
  private readonly tmk: Buffer;

  constructor(private readonly opts: CardLinkOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.tmk = Buffer.from(opts.tmkHex, 'hex');
    this.conn = new HostConnection<WireMessage>({
      host: opts.host,
      port: opts.port,
      log: opts.log.child({ component: 'card-link' }),
      codec: new IsoFrameCodec((t) => this.macKeys.get(t) ?? null),
      onConnect: async () => {
        // Working keys die with the connection: sign in again lazily, terminal by terminal.
        this.macKeys.clear();
      },
    });
  }

  start(): void {
    this.conn.start();
  }

  // ---- terminal state ---------------------------------------------------------------------

  private async terminalFor(merchantId: string, terminalId: string | null) {
    let q = this.opts.store.db.selectFrom('terminals').selectAll().where('merchant_id', '=', merchantId);
    if (terminalId) q = q.where('id', '=', terminalId);
    const t = await q.orderBy('id').executeTakeFirst();
    if (!t) throw new NetworkUnavailableError(`no terminal of merchant ${merchantId} for the card link`);
    return t;
  }

  /** Next system trace audit number (field 11), persisted so it never repeats after a restart. */
  private async nextStan(terminalId: string): Promise<string> {
    const row = await this.opts.store.tx(async (trx) => {
      await trx
        .updateTable('terminals')
        .set((eb) => ({ stan: eb(eb('stan', '%', 999_999), '+', 1) }))
        .where('id', '=', terminalId)
        .execute();
      return trx
        .selectFrom('terminals')
        .select('stan')
        .where('id', '=', terminalId)
        .executeTakeFirstOrThrow();
    });
    return String(row.stan).padStart(6, '0');
  }

  private batchOf(batchNo: number): string {
    return String(batchNo % 1_000_000).padStart(6, '0');
  }

  /** 0800 sign-in: the host returns the working keys under the terminal master key. */
  private async signIn(terminalId: string, merchantId: string, batchNo: number): Promise<Buffer> {
    const stan = await this.nextStan(terminalId);
    const answer = await this.conn.request(
      {
        mti: '0800',
        fields: {
          '11': stan,
          '41': terminalId,
          '42': merchantId,
          '60': `00${this.batchOf(batchNo)}003`,
          '63': '001',
        },
      },
      this.opts.timeoutMs,
    );
    if (answer.fields['39'] !== '00' || !answer.fields['62']) {
      throw new NetworkUnavailableError(`sign-in refused (${answer.fields['39'] ?? 'no code'})`);
    }
    const keys = Buffer.from(answer.fields['62'], 'hex');
    // 62 = PIN key (16) + its check value (4) + MAC key (16) + its check value (4).
    const macKey = decryptWorkingKey(this.tmk, keys.subarray(20, 36), keys.subarray(36, 40));
    this.macKeys.set(terminalId, macKey);
    this.opts.log.info({ terminalId }, 'terminal signed in; working keys installed');
    return macKey;
  }

  private readonly signingIn = new Map<string, Promise<Buffer>>();

  /**
   * The terminal's MAC key, signing in once if there is none. Single-flight: concurrent requests
   * share one sign-in, since every sign-in makes the host replace the terminal's keys.
   */
  private async macKeyFor(terminalId: string, merchantId: string, batchNo: number): Promise<Buffer> {
    await this.conn.ensure();
    const key = this.macKeys.get(terminalId);
    if (key) return key;
    let pending = this.signingIn.get(terminalId);
    if (!pending) {
      pending = this.signIn(terminalId, merchantId, batchNo).finally(() => this.signingIn.delete(terminalId));
      this.signingIn.set(terminalId, pending);
    }
    return pending;
  }

  // ---- attempts ---------------------------------------------------------------------------

  private async attemptsOf(refId: string): Promise<LinkAttemptTable[]> {
    return this.opts.store.db
      .selectFrom('link_attempts')
      .selectAll()
      .where('ref_id', '=', refId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  private async updateAttempt(id: string, set: Partial<LinkAttemptTable>): Promise<void> {
    await this.opts.store.db
      .updateTable('link_attempts')
      .set({ ...set, updated_at: this.clock().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  /** Mark an unanswered attempt for reversal and queue the 0400 in the same transaction. */
  private async startReversal(attemptId: string): Promise<void> {
    const now = this.clock();
    await this.opts.store.tx(async (trx) => {
      const a = await trx
        .selectFrom('link_attempts')
        .select('state')
        .where('id', '=', attemptId)
        .executeTakeFirst();
      if (a?.state !== 'sent') return;
      await trx
        .updateTable('link_attempts')
        .set({ state: 'reversing', updated_at: now.toISOString() })
        .where('id', '=', attemptId)
        .execute();
      await enqueueOutbox(trx, {
        id: `ob_${ulid()}`,
        kind: REVERSE_KIND,
        refId: attemptId,
        payload: { attemptId },
        at: now,
      });
    });
    this.opts.log.warn({ attemptId }, 'no answer from the host: reversal queued');
  }

  /**
   * Send one financial request as a recorded attempt. Returns the answer, or throws
   * NetworkUnavailableError (nothing sent, or sent and now being reversed).
   */
  private async attempt(
    kind: AttemptKind,
    refId: string,
    merchantId: string,
    terminalId: string | null,
    build: (stan: string, batch: string, terminalId: string) => WireMessage,
    reversal: (stan: string, batch: string) => ReversalData,
  ): Promise<{ answer: WireMessage; attempt: LinkAttemptTable }> {
    const terminal = await this.terminalFor(merchantId, terminalId);
    const usedKey = await this.macKeyFor(terminal.id, merchantId, terminal.batch_no);
    const stan = await this.nextStan(terminal.id);
    const batch = this.batchOf(terminal.batch_no);
    const now = this.clock().toISOString();
    const row: LinkAttemptTable = {
      id: `la_${ulid()}`,
      kind,
      ref_id: refId,
      terminal_id: terminal.id,
      stan,
      batch_no: batch,
      request_json: JSON.stringify(reversal(stan, batch)),
      state: 'sent',
      response_code: null,
      reference: null,
      created_at: now,
      updated_at: now,
    };
    // Recorded before it leaves: a crash from here on is found and reversed on the next try.
    await this.opts.store.db.insertInto('link_attempts').values(row).execute();
    let answer: WireMessage;
    try {
      answer = await this.conn.request(build(stan, batch, terminal.id), this.opts.timeoutMs);
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
    if (!macValid(answer, this.macKeys.get(terminal.id) ?? null)) {
      // An answer we cannot trust is no answer.
      this.opts.log.error({ attemptId: row.id }, 'answer with a bad MAC: reversing');
      await this.startReversal(row.id);
      throw new NetworkUnavailableError('the acquirer answer failed its MAC check; reversed automatically');
    }
    const code = answer.fields['39'] ?? responseCodes.systemError;
    if (code === MAC_REJECTED || code === SIGN_IN_AGAIN) {
      // The host refused our MAC or key and applied nothing: sign in again and retry later.
      if (this.macKeys.get(terminal.id) === usedKey) this.macKeys.delete(terminal.id);
      await this.updateAttempt(row.id, { state: 'unsent', response_code: code });
      throw new NetworkUnavailableError(`the host refused the working key (${code}); signing in again`);
    }
    const done = { state: 'answered', response_code: code, reference: answer.fields['37'] ?? null };
    await this.updateAttempt(row.id, done);
    return { answer, attempt: { ...row, ...done } };
  }

  /** Before a new attempt: an earlier one that never got an answer must be reversed first. */
  private async settlePrevious(refId: string): Promise<LinkAttemptTable | null> {
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

  async echo(): Promise<boolean> {
    try {
      await this.conn.ensure();
      const t = await this.opts.store.db
        .selectFrom('terminals')
        .select(['id', 'merchant_id', 'batch_no'])
        .orderBy('id')
        .executeTakeFirst();
      if (!t) return this.conn.isConnected;
      const stan = await this.nextStan(t.id);
      const a = await this.conn.request(
        {
          mti: '0820',
          fields: { '11': stan, '41': t.id, '42': t.merchant_id, '60': `00${this.batchOf(t.batch_no)}301` },
        },
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
        approved: previous.response_code === '00',
        reference: previous.reference ?? '',
        responseCode: previous.response_code ?? '96',
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
      approved: attempt.response_code === '00',
      reference: answer.fields['37'] ?? '',
      responseCode: attempt.response_code ?? '96',
    };
  }

  async voidSale(req: VoidRequest): Promise<{ approved: boolean; responseCode: string }> {
    const previous = await this.settlePrevious(req.requestId);
    if (previous?.state === 'answered')
      return { approved: previous.response_code === '00', responseCode: previous.response_code ?? '96' };
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
    return { approved: attempt.response_code === '00', responseCode: attempt.response_code ?? '96' };
  }

  /** Batch and trace of the original sale, for field 61. */
  private async originalOf(reference: string): Promise<{ batch: string; stan: string; date: string }> {
    const a = await this.opts.store.db
      .selectFrom('link_attempts')
      .select(['batch_no', 'stan', 'created_at'])
      .where('kind', '=', 'sale')
      .where('reference', '=', reference)
      .executeTakeFirst();
    const date = (a?.created_at ?? this.clock().toISOString()).slice(5, 10).replace('-', '');
    return { batch: a?.batch_no ?? '000000', stan: a?.stan ?? '000000', date };
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
        fields: { ...fields(stan, batch), '41': terminalId, '63': reason },
      }),
      (stan, batch) => ({ mti: '0220', fields: fields(stan, batch) }),
    );
    return this.ackOf(req.requestId, attempt);
  }

  /** A card refund's answer is final: accepted → the result follows at once. */
  private ackOf(requestId: string, a: LinkAttemptTable): SubmitAck {
    const code = a.response_code ?? responseCodes.systemError;
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
    const code = answered.response_code ?? responseCodes.systemError;
    return {
      requestId,
      reference: answered.reference ?? '',
      outcome: code === '00' ? 'succeeded' : 'failed',
      responseCode: code,
    };
  }

  /** 0400 for an unanswered attempt; resolves when the host acknowledged it (0410, any code). */
  async reverse(payload: unknown): Promise<void> {
    const { attemptId } = payload as { attemptId: string };
    const a = await this.opts.store.db
      .selectFrom('link_attempts')
      .selectAll()
      .where('id', '=', attemptId)
      .executeTakeFirst();
    if (a?.state !== 'reversing') return;
    const original = JSON.parse(a.request_json) as ReversalData;
    const terminal = await this.opts.store.db
      .selectFrom('terminals')
      .selectAll()
      .where('id', '=', a.terminal_id)
      .executeTakeFirstOrThrow();
    await this.macKeyFor(terminal.id, terminal.merchant_id, terminal.batch_no);
    const fields: Record<string, string> = {
      '3': original.fields['3'] ?? '000000',
      '4': original.fields['4'] ?? amount12(0),
      '11': a.stan,
      '25': original.fields['25'] ?? '00',
      '39': NO_ANSWER_CODE,
      '41': terminal.id,
      '42': terminal.merchant_id,
      '49': '156',
      '60': original.fields['60'] ?? `00${a.batch_no}000`,
    };
    if (original.fields['37']) fields['37'] = original.fields['37'];
    if (original.fields['61']) fields['61'] = original.fields['61'];
    let answer: WireMessage;
    try {
      answer = await this.conn.request({ mti: '0400', fields }, this.opts.timeoutMs);
    } catch (err) {
      throw err instanceof AnswerTimeoutError
        ? new NetworkUnavailableError('reversal unanswered; will repeat')
        : err;
    }
    if (!macValid(answer, this.macKeys.get(terminal.id) ?? null))
      throw new NetworkUnavailableError('reversal answer failed its MAC check');
    await this.updateAttempt(a.id, { state: 'reversed', response_code: answer.fields['39'] ?? null });
    this.opts.log.info({ attemptId: a.id, kind: a.kind }, 'reversal acknowledged');
  }

  /** 0500 with our debit/credit totals; if the host disagrees, 0320 batch upload, then its totals. */
  async settle(req: SettlementRequest): Promise<SettlementTotals> {
    const terminal = await this.terminalFor(req.merchantId, req.terminalId);
    await this.macKeyFor(terminal.id, req.merchantId, terminal.batch_no);
    const batch = this.batchOf(req.batchNo);
    const totals48 = (t: SettlementTotals) =>
      `${amount12(t.sales.amountMinor)}${String(t.sales.count).padStart(3, '0')}` +
      `${amount12(t.refunds.amountMinor)}${String(t.refunds.count).padStart(3, '0')}0`;
    const stan = await this.nextStan(terminal.id);
    const answer = await this.conn.request(
      {
        mti: '0500',
        fields: {
          '11': stan,
          '41': terminal.id,
          '42': req.merchantId,
          '48': totals48(req.local),
          '49': '156',
          '60': `00${batch}201`,
        },
      },
      this.opts.timeoutMs,
    );
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
      const sent = await this.opts.store.db
        .selectFrom('link_attempts')
        .selectAll()
        .where('terminal_id', '=', terminal.id)
        .where('batch_no', '=', batch)
        .where('state', '=', 'answered')
        .where('response_code', '=', '00')
        .execute();
      for (const a of sent) {
        const s = await this.nextStan(terminal.id);
        const o = JSON.parse(a.request_json) as ReversalData;
        await this.conn.request(
          {
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
          },
          this.opts.timeoutMs,
        );
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
