import {
  attachMac,
  decode,
  encode,
  FrameDecoder,
  frame,
  type IsoMessage,
  verifyMac,
} from '../iso8583/index.js';
import type { FrameCodec } from './connection.js';

/**
 * ISO 8583 on the card link: the UnionPay-style `cup` dialect, framed with a 2-byte length, a TPDU
 * and the 6-byte header; financial messages carry an X9.19 MAC in field 64.
 */
export const DIALECT = 'cup' as const;
export const TERMINAL_TPDU = '6000030000';
export const HOST_TPDU = '6000000003';
export const CUP_HEADER = '603100310000';

/** Host answers meaning "your MAC / working key is wrong" (UnionPay A0, 77): nothing was applied. */
export const MAC_REJECTED = 'A0';
export const SIGN_IN_AGAIN = '77';

/** Financial messages: they move money (and are what the simulator's faults act on). */
export const FINANCIAL = new Set(['0200', '0210', '0220', '0230', '0400', '0410']);

/**
 * Message types that carry a MAC, both ways: every one that changes state at the host. Besides the
 * financial ones, the batch settlement (0500: it closes the terminal's batch) and the batch upload
 * (0320) — an unauthenticated 0500 could otherwise close a batch and make same-day voids fail. Only
 * sign-in (0800, which installs the keys) and echo (0820, which changes nothing) go without.
 */
export const MACED = new Set([...FINANCIAL, '0500', '0510', '0320', '0330']);

export interface WireMessage extends IsoMessage {
  /** The decoded message's own bytes, to verify its MAC. */
  raw?: Buffer;
  /** Outgoing: the working key to MAC it with (default: the terminal's installed key). */
  macKey?: Buffer;
}

export function answerMti(requestMti: string): string {
  const n = Number.parseInt(requestMti, 10) + 10;
  return String(n).padStart(4, '0');
}

/** Requests and answers match on terminal + STAN + answer type. */
export function keyOf(terminalId: string | undefined, stan: string | undefined, mti: string): string {
  return `${terminalId ?? '?'}/${stan ?? '?'}/${mti}`;
}

/**
 * Fields an answer echoes from its request (processing code, amount, merchant, currency, and the
 * message type and batch at the head of 60): where the answer carries one, it must be the request's.
 */
const ECHOED = ['3', '4', '41', '42', '49'] as const;

export function answersRequest(request: IsoMessage, answer: IsoMessage): boolean {
  if (answer.mti !== answerMti(request.mti)) return false;
  if (answer.fields['11'] !== request.fields['11']) return false;
  for (const f of ECHOED) {
    const echoed = answer.fields[f];
    if (echoed !== undefined && echoed !== request.fields[f]) return false;
  }
  const head = (m: IsoMessage) => m.fields['60']?.slice(0, 8);
  return answer.fields['60'] === undefined || head(answer) === head(request);
}

export function encodeWire(msg: IsoMessage, macKey: Buffer | null): Buffer {
  if (MACED.has(msg.mti)) {
    if (!macKey) throw new Error(`a ${msg.mti} needs a MAC key: sign in first`);
    return attachMac(msg, DIALECT, macKey);
  }
  return encode(msg, DIALECT);
}

export function macValid(msg: WireMessage, macKey: Buffer | null): boolean {
  if (!MACED.has(msg.mti)) return true;
  return macKey !== null && msg.raw !== undefined && verifyMac(msg.raw, DIALECT, macKey);
}

export class IsoFrameCodec implements FrameCodec<WireMessage> {
  private decoder = new FrameDecoder({ header: true });

  constructor(
    private readonly macKeyOf: (terminalId: string) => Buffer | null,
    private readonly tpdu = TERMINAL_TPDU,
  ) {}

  toFrame(message: WireMessage): Buffer {
    const { mti, fields } = message;
    const bytes = encodeWire({ mti, fields }, message.macKey ?? this.macKeyOf(fields['41'] ?? ''));
    return frame(bytes, { tpdu: this.tpdu, header: CUP_HEADER });
  }

  push(chunk: Buffer): WireMessage[] {
    const { frames, error } = this.decoder.push(chunk);
    if (error) throw new Error(`framing: ${error.message}`);
    const out: WireMessage[] = [];
    for (const f of frames) {
      const d = decode(f.message, DIALECT);
      if (!d.ok) throw new Error(`undecodable message: ${d.error.message}`);
      out.push({ ...d.message, raw: f.message });
    }
    return out;
  }

  reset(): void {
    this.decoder = new FrameDecoder({ header: true });
  }

  requestKey(request: WireMessage): string {
    return keyOf(request.fields['41'], request.fields['11'], answerMti(request.mti));
  }

  answerKey(answer: WireMessage): string {
    return keyOf(answer.fields['41'], answer.fields['11'], answer.mti);
  }

  answers(request: WireMessage, answer: WireMessage): boolean {
    return answersRequest(request, answer);
  }
}
