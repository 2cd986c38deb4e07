/**
 * Errors of the ISO 8583 link are values with stable codes (STYLE.md "Errors are values with codes").
 * `decode` and `FrameDecoder.push` return them; `encode`, `frame` and the key helpers throw them as
 * `Iso8583Error`, because a bad outgoing message or key is a programming error on our side.
 */

/** Codes `decode` returns for malformed input. */
export const decodeErrorCodes = [
  'truncated',
  'bad_bcd',
  'bad_length',
  'bad_mti',
  'bad_bitmap',
  'undefined_field',
  'trailing_bytes',
  'bad_char',
] as const;
export type DecodeErrorCode = (typeof decodeErrorCodes)[number];

/** Codes `encode` throws for a message that does not fit its dialect's field table. */
export type EncodeErrorCode = 'invalid_mti' | 'unknown_field' | 'invalid_value';

/** Codes of the TCP framing layer. */
export type FramingErrorCode = 'frame_too_large' | 'frame_too_short' | 'bad_tpdu' | 'bad_header';

/** Codes of the key and MAC helpers. */
export type KeyErrorCode = 'invalid_key';

export type Iso8583ErrorCode =
  | DecodeErrorCode
  | EncodeErrorCode
  | FramingErrorCode
  | KeyErrorCode
  | 'bad_hex';

/** Which part of a message an error is about: a field number, or one of the message's headers. */
export type ErrorSubject = number | 'mti' | 'bitmap' | 'length' | 'tpdu' | 'header' | 'key' | 'input';

/** What `decode` returns instead of a message: the field and the byte offset where decoding stopped. */
export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly field: number | 'mti' | 'bitmap';
  /** Byte offset into the decoded buffer, 0 ≤ offset ≤ buffer length. */
  readonly offset: number;
  readonly message: string;
}

export interface Iso8583ErrorJson {
  code: Iso8583ErrorCode;
  field: ErrorSubject;
  offset?: number;
  message: string;
}

export class Iso8583Error extends Error {
  readonly code: Iso8583ErrorCode;
  readonly field: ErrorSubject;
  readonly offset: number | undefined;

  constructor(code: Iso8583ErrorCode, field: ErrorSubject, message: string, offset?: number) {
    super(message);
    this.name = 'Iso8583Error';
    this.code = code;
    this.field = field;
    this.offset = offset;
  }

  toJSON(): Iso8583ErrorJson {
    const json: Iso8583ErrorJson = { code: this.code, field: this.field, message: this.message };
    if (this.offset !== undefined) json.offset = this.offset;
    return json;
  }
}
