/**
 * TCP framing of ISO 8583 messages as UnionPay-style POS links carry them:
 *
 *   length (2 bytes, big-endian: bytes that follow) ‖ TPDU (5) ‖ [header (6), cup only] ‖ message
 *
 * TPDU: 0x60, destination address (2 bytes), source address (2 bytes); a host answers with the
 * addresses swapped (`responseTpdu`). The cup message header is application type (0x60), software
 * version, terminal status (high nibble) with processing requirement (low nibble), and 3 reserved
 * bytes (software sub-version); e.g. `603100310000`. TPDU and header are handled as hex strings.
 *
 * `FrameDecoder` turns a byte stream (split or coalesced TCP chunks) into frames. Every frame is at
 * most MAX_FRAME_BYTES after its length prefix; a bigger announced length, a frame too short for its
 * TPDU and header, or a TPDU not starting with 0x60 is an error after which the stream cannot be
 * resynchronised: the decoder stops and the connection should be closed.
 */
import { type FramingErrorCode, Iso8583Error } from './errors.js';

export const LENGTH_PREFIX_BYTES = 2;
export const TPDU_BYTES = 5;
export const CUP_HEADER_BYTES = 6;
/** Largest frame (TPDU + header + message) accepted or produced. */
export const MAX_FRAME_BYTES = 8192;
const TPDU_ID = 0x60;

export interface FrameOptions {
  /** 10 hex characters starting with `60`, e.g. `6000030000`. */
  tpdu: string;
  /** cup: 12 hex characters, e.g. `603100310000`; omitted for dialects without a header. */
  header?: string | undefined;
}

export interface Frame {
  /** UPPERCASE hex, 10 characters. */
  tpdu: string;
  /** UPPERCASE hex, 12 characters, or null when the decoder expects no header. */
  header: string | null;
  message: Buffer;
}

export interface FrameError {
  code: FramingErrorCode;
  /** Offset in the stream (bytes pushed since the decoder was made) where the bad frame starts. */
  offset: number;
  message: string;
}

export interface FramePushResult {
  frames: Frame[];
  /** Set once the stream is broken; then every later push returns it again with no frames. */
  error: FrameError | null;
}

/** Builds the bytes to write on the socket for one encoded message. Throws `Iso8583Error`. */
export function frame(message: Buffer, options: FrameOptions): Buffer {
  const tpdu = tpduBytes(options.tpdu);
  const header = options.header === undefined ? Buffer.alloc(0) : headerBytes(options.header);
  const length = tpdu.length + header.length + message.length;
  if (message.length === 0) {
    throw new Iso8583Error('frame_too_short', 'length', 'a frame carries a message of at least one byte');
  }
  if (length > MAX_FRAME_BYTES) {
    throw new Iso8583Error(
      'frame_too_large',
      'length',
      `frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`,
    );
  }
  const prefix = Buffer.alloc(LENGTH_PREFIX_BYTES);
  prefix.writeUInt16BE(length);
  return Buffer.concat([prefix, tpdu, header, message]);
}

function tpduBytes(tpdu: string): Buffer {
  if (!/^60[0-9A-Fa-f]{8}$/.test(tpdu)) {
    throw new Iso8583Error('bad_tpdu', 'tpdu', 'TPDU must be 10 hex characters starting with 60');
  }
  return Buffer.from(tpdu, 'hex');
}

function headerBytes(header: string): Buffer {
  if (!/^[0-9A-Fa-f]{12}$/.test(header)) {
    throw new Iso8583Error('bad_header', 'header', 'message header must be 12 hex characters');
  }
  return Buffer.from(header, 'hex');
}

/** The TPDU of an answer: same id, destination and source swapped. */
export function responseTpdu(tpdu: string): string {
  const bytes = tpduBytes(tpdu);
  return Buffer.concat([bytes.subarray(0, 1), bytes.subarray(3, 5), bytes.subarray(1, 3)])
    .toString('hex')
    .toUpperCase();
}

export interface CupHeader {
  /** 0x60 for POS terminals. */
  applicationType: number;
  /** Software version byte, e.g. 0x31. */
  version: number;
  /** 0..15: terminal status (0 normal, 1 test). */
  terminalStatus: number;
  /** 0..15: processing requirement (0 none, 3 download parameters, …). */
  processingRequirement: number;
  /** 6 hex characters: software sub-version / reserved. */
  reserved: string;
}

export function cupHeader(h: CupHeader): string {
  const byte = (v: number, max: number, what: string) => {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw new Iso8583Error('bad_header', 'header', `${what} 0..${max}`);
    return v;
  };
  if (!/^[0-9A-Fa-f]{6}$/.test(h.reserved)) {
    throw new Iso8583Error('bad_header', 'header', 'reserved part must be 6 hex characters');
  }
  const bytes = Buffer.from([
    byte(h.applicationType, 0xff, 'application type'),
    byte(h.version, 0xff, 'version'),
    (byte(h.terminalStatus, 0xf, 'terminal status') << 4) | byte(h.processingRequirement, 0xf, 'requirement'),
  ]);
  return `${bytes.toString('hex')}${h.reserved}`.toUpperCase();
}

export function parseCupHeader(header: string): CupHeader {
  const bytes = headerBytes(header);
  const status = bytes[2] ?? 0;
  return {
    applicationType: bytes[0] ?? 0,
    version: bytes[1] ?? 0,
    terminalStatus: status >> 4,
    processingRequirement: status & 0x0f,
    reserved: bytes.subarray(3).toString('hex').toUpperCase(),
  };
}

export interface FrameDecoderOptions {
  /** True for cup (6-byte header after the TPDU), false for ascii87. */
  header: boolean;
  /** Defaults to MAX_FRAME_BYTES; may only be lowered. */
  maxFrameBytes?: number;
}

export class FrameDecoder {
  private readonly headerLength: number;
  private readonly maxFrameBytes: number;
  private pending: Buffer = Buffer.alloc(0);
  /** Stream offset of `pending[0]`. */
  private consumed = 0;
  private failure: FrameError | null = null;

  constructor(options: FrameDecoderOptions) {
    this.headerLength = options.header ? CUP_HEADER_BYTES : 0;
    this.maxFrameBytes = Math.min(options.maxFrameBytes ?? MAX_FRAME_BYTES, MAX_FRAME_BYTES);
  }

  /** Bytes held while waiting for the rest of a frame (never more than one frame plus a prefix). */
  get pendingBytes(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): FramePushResult {
    if (this.failure !== null) return { frames: [], error: this.failure };
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let at = 0;
    while (this.pending.length - at >= LENGTH_PREFIX_BYTES) {
      const length = this.pending.readUInt16BE(at);
      const problem = this.checkLength(length);
      if (problem !== null) return this.fail(problem.code, this.consumed + at, problem.message, frames);
      if (this.pending.length - at < LENGTH_PREFIX_BYTES + length) break;
      const body = this.pending.subarray(at + LENGTH_PREFIX_BYTES, at + LENGTH_PREFIX_BYTES + length);
      if (body[0] !== TPDU_ID) {
        return this.fail(
          'bad_tpdu',
          this.consumed + at + LENGTH_PREFIX_BYTES,
          'TPDU must start with 0x60',
          frames,
        );
      }
      frames.push(this.frameOf(body));
      at += LENGTH_PREFIX_BYTES + length;
    }
    // Copy the remainder so a large chunk is not kept alive by a few leftover bytes.
    this.pending = Buffer.from(this.pending.subarray(at));
    this.consumed += at;
    return { frames, error: null };
  }

  private checkLength(length: number): { code: FramingErrorCode; message: string } | null {
    if (length > this.maxFrameBytes) {
      return {
        code: 'frame_too_large',
        message: `frame announces ${length} bytes, limit ${this.maxFrameBytes}`,
      };
    }
    const least = TPDU_BYTES + this.headerLength + 1;
    if (length < least) {
      return { code: 'frame_too_short', message: `frame announces ${length} bytes, needs at least ${least}` };
    }
    return null;
  }

  private frameOf(body: Buffer): Frame {
    const headerEnd = TPDU_BYTES + this.headerLength;
    return {
      tpdu: body.subarray(0, TPDU_BYTES).toString('hex').toUpperCase(),
      header:
        this.headerLength === 0 ? null : body.subarray(TPDU_BYTES, headerEnd).toString('hex').toUpperCase(),
      // A copy: the frame outlives the decoder's buffer.
      message: Buffer.from(body.subarray(headerEnd)),
    };
  }

  private fail(code: FramingErrorCode, offset: number, message: string, frames: Frame[]): FramePushResult {
    this.failure = { code, offset, message };
    this.pending = Buffer.alloc(0);
    return { frames, error: this.failure };
  }
}
