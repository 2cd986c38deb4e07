import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Config } from '../../../src/config.js';
import {
  answerMti,
  CUP_HEADER,
  DIALECT,
  MAC_REJECTED,
  MACED,
  SIGN_IN_AGAIN,
} from '../../../src/network/card-link/wire.js';
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
} from '../../../src/network/iso8583/index.js';
import { startTestSystem, type TestSystem } from '../../support/system.js';

/**
 * What the fake host does with a request whose MAC checked out: answer (with the terminal's MAC,
 * or with a MAC made under a key that is not the terminal's), or keep silent.
 */
export type Reply =
  | { kind: 'answer'; fields: Record<string, string>; mac?: 'right' | 'wrong' }
  | { kind: 'silent' };

export interface FakeHostOptions {
  /** Terminal master key (hex) under which sign-in sends the working keys. */
  tmkHex: string;
  /** Financial requests only (sign-in and echo are always answered). Default: approve everything. */
  reply?: (request: IsoMessage, host: FakeAcquirerHost) => Reply;
}

/**
 * A minimal acquirer host for tests that need an answer the simulator will not give (a bad MAC,
 * silence on one message type only). Built from our own ISO 8583 codec, framing and MAC, so it
 * speaks exactly what the card link expects; it keeps no books, only what it received.
 */
export class FakeAcquirerHost {
  /** Every request decoded, in order of arrival. */
  readonly received: IsoMessage[] = [];
  private macKey: Buffer | null = null;
  private rrn = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly opts: FakeHostOptions,
  ) {}

  static async start(opts: FakeHostOptions): Promise<FakeAcquirerHost> {
    let host: FakeAcquirerHost | null = null;
    const server = createServer((socket) => host?.accept(socket));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : 0);
      });
    });
    host = new FakeAcquirerHost(server, port, opts);
    return host;
  }

  /** Requests of one MTI (and, optionally, one processing code) received so far. */
  requests(mti: string, processingCode?: string): IsoMessage[] {
    return this.received.filter(
      (m) => m.mti === mti && (processingCode === undefined || m.fields['3'] === processingCode),
    );
  }

  nextRrn(): string {
    this.rrn += 1;
    return `FH${String(this.rrn).padStart(10, '0')}`;
  }

  /** The default: approve with a fresh retrieval reference (0200, 0220) or acknowledge (0400). */
  approve(request: IsoMessage): Reply {
    if (request.mti === '0400') return { kind: 'answer', fields: { '39': '00' } };
    return { kind: 'answer', fields: { '37': this.nextRrn(), '39': '00' } };
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder({ header: true });
    socket.on('data', (chunk) => {
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) this.handle(socket, f.tpdu, f.message);
      if (error) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private handle(socket: Socket, tpdu: string, bytes: Buffer): void {
    const d = decode(bytes, DIALECT);
    if (!d.ok) return;
    const request = d.message;
    this.received.push(request);
    const reply = this.replyTo(request, bytes);
    if (reply.kind === 'silent') return;
    const answer = { mti: answerMti(request.mti), fields: { ...echoOf(request), ...reply.fields } };
    const out =
      MACED.has(answer.mti) && this.macKey
        ? attachMac(answer, DIALECT, this.macFor(reply))
        : encode(answer, DIALECT);
    socket.write(frame(out, { tpdu: responseTpdu(tpdu), header: CUP_HEADER }));
  }

  private macFor(reply: Reply): Buffer {
    const key = this.macKey as Buffer;
    if (reply.kind !== 'answer' || reply.mac !== 'wrong') return key;
    // A key one bit away from the terminal's: the answer is well formed, only its MAC is false.
    const wrong = Buffer.from(key);
    wrong[0] = (wrong[0] ?? 0) ^ 0x02;
    return wrong;
  }

  private replyTo(request: IsoMessage, bytes: Buffer): Reply {
    if (request.mti === '0800') return this.signIn();
    if (request.mti === '0820') return { kind: 'answer', fields: { '39': '00' } };
    if (MACED.has(request.mti)) {
      if (!this.macKey) return { kind: 'answer', fields: { '39': SIGN_IN_AGAIN } };
      if (!verifyMac(bytes, DIALECT, this.macKey)) return { kind: 'answer', fields: { '39': MAC_REJECTED } };
    }
    return (this.opts.reply ?? ((r, h) => h.approve(r)))(request, this);
  }

  /** 0810: fresh working keys under the terminal master key, each with its check value. */
  private signIn(): Reply {
    const tmk = Buffer.from(this.opts.tmkHex, 'hex');
    const pinKey = generateWorkingKey();
    const macKey = generateWorkingKey();
    this.macKey = macKey;
    const keys = Buffer.concat([
      encryptWorkingKey(tmk, pinKey),
      keyCheckValue(pinKey),
      encryptWorkingKey(tmk, macKey),
      keyCheckValue(macKey),
    ]);
    return {
      kind: 'answer',
      fields: { '37': this.nextRrn(), '39': '00', '62': keys.toString('hex').toUpperCase() },
    };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Fields an answer echoes from its request, as an acquirer host does. */
function echoOf(request: IsoMessage): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const f of ['3', '4', '11', '25', '41', '42', '49', '60']) {
    const v = request.fields[f];
    if (v !== undefined) fields[f] = v;
  }
  return fields;
}

/** The log lines a system wrote (pino JSON), for tests that check what an operator would see. */
export class LogLines extends Writable {
  readonly lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line));
    done();
  }
  /** Lines with this message at this level or above (pino: 40 warn, 50 error). */
  find(msg: string, minLevel = 0) {
    return this.lines.filter((l) => l.msg === msg && l.level >= minLevel);
  }
}

/** The whole service on a fresh store, its card link pointed at `host` (NETWORK=host). */
export async function startWithHost(
  url: string,
  host: FakeAcquirerHost,
  overrides: Partial<Config> = {},
): Promise<{ sys: TestSystem; logs: LogLines }> {
  const logs = new LogLines();
  const sys = await startTestSystem(
    url,
    {
      network: 'host',
      acquirerHost: '127.0.0.1',
      acquirerPort: host.port,
      dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-fake-host-')),
      ...overrides,
    },
    { logStream: logs },
  );
  return { sys, logs };
}
