/** ISO 8583 link pieces: field tables, codec, TCP framing, X9.19 MAC, terminal keys, CLI. */
export { type CliIo, ISO8583_USAGE, iso8583Cli } from './cli.js';
export { bytesFromHex, type DecodeResult, decode, encode, hexOf, type IsoMessage } from './codec.js';
export {
  type DecodeError,
  type DecodeErrorCode,
  decodeErrorCodes,
  type ErrorSubject,
  Iso8583Error,
  type Iso8583ErrorCode,
} from './errors.js';
export {
  DIALECTS,
  type Dialect,
  type DialectSpec,
  dialects,
  type FieldDef,
  fieldDef,
  isDialect,
} from './fields.js';
export {
  type CupHeader,
  cupHeader,
  type Frame,
  FrameDecoder,
  type FrameError,
  type FrameOptions,
  frame,
  MAX_FRAME_BYTES,
  parseCupHeader,
  responseTpdu,
} from './framing.js';
export {
  decryptWorkingKey,
  encryptWorkingKey,
  generateWorkingKey,
  hasOddParity,
  KCV_BYTES,
  keyCheckValue,
  withOddParity,
} from './keys.js';
export { attachMac, MAC_BYTES, macOf, verifyMac } from './mac.js';
