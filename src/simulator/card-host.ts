import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  answerMti,
  CUP_HEADER,
  DIALECT,
  FINANCIAL,
  MAC_REJECTED,
  MACED,
  SIGN_IN_AGAIN,
} from '../network/card-link/wire.js';
import {
  attachMac,
  decode,
  encode,
  encryptWorkingKey,
  FrameDecoder,
  frame,
  generateWorkingKey,
  type IsoMessage,
  keyCheckValue,
  responseTpdu,
  verifyMac,
} from '../network/iso8583/index.js';
import { responseCodes } from '../network/port.js';
import type { FaultPlan } from './faults.js';
import { SimLedger } from './ledger.js';

export interface CardHostOptions {
  ledger: SimLedger;
  faults: FaultPlan;
  log: Logger;
  clock?: () => Date;
}

/**
 * The acquirer host of the simulator: ISO 8583 (`cup`) over TCP. It signs terminals in, checks
 * MACs, applies sales, voids, refunds (seed 004's review), reversals and batch settlement to its
 * own ledger, and answers — or, as the fault plan says, answers late or never.
 */
export class CardHost {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly clock: () => Date;
  private readonly macKeys = new Map<string, Buffer>();
  /** Messages received, by MTI: tests count sign-ins and echoes with it. */
  readonly received = new Map<string, number>();

  constructor(private readonly opts: CardHostOptions) {
    this.clock = opts.clock ?? (() => new Date());
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      server.once('error', reject);
      server.listen(port, host, () => {
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder({ header: true });
    socket.on('data', (chunk) => {
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) this.handleFrame(socket, f.tpdu, f.message);
      if (error) {
        this.opts.log.warn({ err: error.message }, 'bad frame from terminal; closing connection');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private handleFrame(socket: Socket, tpdu: string, bytes: Buffer): void {
    const d = decode(bytes, DIALECT);
    if (!d.ok) {
      this.opts.log.warn({ err: d.error }, 'undecodable message from terminal ignored');
      return;
    }
    const req = d.message;
    this.received.set(req.mti, (this.received.get(req.mti) ?? 0) + 1);
    const financial = FINANCIAL.has(req.mti);
    const fate = financial ? this.opts.faults.decide() : { kind: 'answer' as const, delayMs: 0 };
    let answer: IsoMessage;
    try {
      answer = this.apply(req, bytes);
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message, mti: req.mti }, 'host failed to handle a message');
      answer = this.answerTo(req, { '39': responseCodes.systemError });
    }
    if (fate.kind === 'drop') return; // applied, and the answer is lost
    const terminalId = req.fields['41'] ?? '';
    const out =
      MACED.has(answer.mti) && this.macKeys.has(terminalId)
        ? attachMac(answer, DIALECT, this.macKeys.get(terminalId) as Buffer)
        : encode(answer, DIALECT);
    const send = () => {
      if (!socket.destroyed) socket.write(frame(out, { tpdu: responseTpdu(tpdu), header: CUP_HEADER }));
    };
    if (fate.delayMs === 0) send();
    else {
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
      }, fate.delayMs);
      this.timers.add(t);
    }
  }

  private answerTo(req: IsoMessage, extra: Record<string, string>): IsoMessage {
    const echo = ['3', '4', '11', '25', '41', '42', '49', '60'];
    const fields: Record<string, string> = {};
    for (const f of echo) if (req.fields[f] !== undefined) fields[f] = req.fields[f] as string;
    const now = this.clock();
    fields['12'] = now.toISOString().slice(11, 19).replaceAll(':', '');
    fields['13'] = now.toISOString().slice(5, 10).replace('-', '');
    return { mti: answerMti(req.mti), fields: { ...fields, ...extra } };
  }

  /** Apply one request to the ledger and build its answer. Retransmissions get the first answer. */
  private apply(req: IsoMessage, bytes: Buffer): IsoMessage {
    const f = req.fields;
    const terminalId = f['41'] ?? '';
    const terminal = this.opts.ledger.terminal(terminalId);
    if (!terminal || terminal.merchant_id !== f['42']) return this.answerTo(req, { '39': '03' }); // invalid merchant
    if (req.mti === '0800') return this.signIn(req, terminal.tmk);
    if (req.mti === '0820') return this.answerTo(req, { '39': responseCodes.approved });
    const macKey = this.macKeys.get(terminalId) ?? this.restoreKey(terminalId);
    if (MACED.has(req.mti)) {
      if (!macKey) return this.answerTo(req, { '39': SIGN_IN_AGAIN });
      if (!verifyMac(bytes, DIALECT, macKey)) return this.answerTo(req, { '39': MAC_REJECTED });
    }
    const now = this.clock();
    const ledger = this.opts.ledger;
    const stan = f['11'] ?? '';
    const batch = (f['60'] ?? '').slice(2, 8);
    const amount = Number(f['4'] ?? '0');
    const requestKey = `${terminalId}/${stan}/${req.mti}/${batch}`;
    const issuerDown = this.opts.faults.faults.issuerDown;
    const known = ledger.previousAnswer(requestKey);
    if (known) {
      const t = ledger.txn(known.rrn);
      return this.answerTo(req, { '37': known.rrn, '39': t?.response_code ?? responseCodes.systemError });
    }
    switch (req.mti) {
      case '0200': {
        if (f['3'] === '000000') {
          const t = ledger.sale({
            merchantId: terminal.merchant_id,
            terminalId,
            stan,
            batchNo: batch,
            amountMinor: amount,
            currency: 'CNY',
            cardHash: SimLedger.cardHash(f['2'] ?? ''),
            requestKey,
            issuerDown,
            now,
          });
          return this.answerTo(req, { '37': t.rrn, '38': t.rrn.slice(-6), '39': t.response_code });
        }
        const t = ledger.void({
          merchantId: terminal.merchant_id,
          terminalId,
          stan,
          batchNo: batch,
          originalRrn: f['37'] ?? '',
          amountMinor: amount,
          requestKey,
          now,
        });
        return this.answerTo(req, { '37': t.rrn, '39': t.response_code });
      }
      case '0220': {
        // 63 is bytes on the wire; terminals send the reason as UTF-8 text.
        const reason = Buffer.from(f['63'] ?? '', 'hex').toString('utf8');
        const [code = 'other', ...note] = reason.split(' ');
        const t = ledger.refund({
          merchantId: terminal.merchant_id,
          terminalId,
          stan,
          batchNo: batch,
          originalRrn: f['37'] ?? '',
          amountMinor: amount,
          reason: { code, note: note.length ? note.join(' ') : null },
          requestKey,
          issuerDown,
          now,
        });
        return this.answerTo(req, { '37': t.rrn, '39': t.response_code });
      }
      case '0400': {
        ledger.reverse({ terminalId, originalStan: stan, batchNo: batch, now });
        return this.answerTo(req, { '39': responseCodes.approved });
      }
      case '0500': {
        const totals = ledger.batchTotals(terminalId);
        const ours =
          `${String(totals.debitMinor).padStart(12, '0')}${String(totals.debitCount).padStart(3, '0')}` +
          `${String(totals.creditMinor).padStart(12, '0')}${String(totals.creditCount).padStart(3, '0')}`;
        const balanced = (f['48'] ?? '').slice(0, 30) === ours;
        ledger.closeBatch(terminal.merchant_id, terminalId, batch, balanced, totals, now);
        return this.answerTo(req, { '39': responseCodes.approved, '48': `${ours}${balanced ? '1' : '2'}` });
      }
      case '0320':
        // Batch upload after an unbalanced settlement: acknowledged, kept in the log for operators.
        this.opts.log.info({ terminalId, rrn: f['37'] }, 'batch upload record');
        return this.answerTo(req, { '39': responseCodes.approved });
      default:
        return this.answerTo(req, { '39': '12' });
    }
  }

  private restoreKey(terminalId: string): Buffer | null {
    const t = this.opts.ledger.terminal(terminalId);
    if (!t?.mac_key) return null;
    const key = Buffer.from(t.mac_key, 'hex');
    this.macKeys.set(terminalId, key);
    return key;
  }

  /** 0810: fresh PIN and MAC keys, each encrypted under the terminal master key, with check values. */
  private signIn(req: IsoMessage, tmkHex: string): IsoMessage {
    const tmk = Buffer.from(tmkHex, 'hex');
    const pinKey = generateWorkingKey();
    const macKey = generateWorkingKey();
    const terminalId = req.fields['41'] ?? '';
    this.opts.ledger.setWorkingKeys(terminalId, macKey.toString('hex'), pinKey.toString('hex'), this.clock());
    this.macKeys.set(terminalId, macKey);
    const f62 = Buffer.concat([
      encryptWorkingKey(tmk, pinKey),
      keyCheckValue(pinKey),
      encryptWorkingKey(tmk, macKey),
      keyCheckValue(macKey),
    ]);
    return this.answerTo(req, {
      '37': this.opts.ledger.nextRrn(this.clock()),
      '39': responseCodes.approved,
      '62': f62.toString('hex').toUpperCase(),
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
