/**
 * ISO 8583 message codec: `IsoMessage` ⇄ bytes, for the dialects in `fields.ts`. Pure: no I/O.
 *
 * `encode` validates every value against its field definition and throws `Iso8583Error`.
 * `decode` never throws: it returns the message, or the first problem with the field and byte
 * offset where it was found. It accepts a message only when every byte is accounted for, so a
 * truncated, padded or misaligned buffer is never returned as a valid message.
 *
 * Values (`fields` keys are field numbers as decimal strings, without leading zeros):
 * - `n`: digits; `z` (track data): digits with `D` or `=` as separator. In `cup` the separator is
 *   the nibble D, which decodes as `D`; `=` is accepted on encode as the same separator.
 * - `n` fields marked `hexNibbles` (the `cup` private fields 60/61): hex digits, one per nibble,
 *   decoded UPPERCASE (encode accepts either case); digits-only values are plain BCD.
 * - `an`: letters, digits and space; `ans`: printable ASCII (0x20–0x7E).
 * - `b`: hexadecimal, two characters per byte (decoded as UPPERCASE; encode accepts either case).
 * Fixed-length values must have exactly the defined length (callers pad: amounts with leading
 * zeros, text with trailing spaces); variable-length values may be empty up to the maximum.
 * Error messages name fields and lengths but never echo values: PANs, tracks and keys stay out.
 */
import { type DecodeError, type DecodeErrorCode, Iso8583Error } from './errors.js';
import { bcdAlignOf, DIALECTS, type Dialect, type DialectSpec, type FieldDef } from './fields.js';

export interface IsoMessage {
  mti: string;
  fields: Record<string, string>;
}

export type DecodeResult = { ok: true; message: IsoMessage } | { ok: false; error: DecodeError };

/** Nibble used for the track 2 field separator in BCD. */
const SEPARATOR_NIBBLE = 0xd;

const VALUE_PATTERNS: Readonly<Record<FieldDef['type'], RegExp>> = {
  n: /^[0-9]*$/,
  z: /^[0-9D=]*$/,
  an: /^[A-Za-z0-9 ]*$/,
  ans: /^[\x20-\x7E]*$/,
  b: /^(?:[0-9A-Fa-f]{2})*$/,
};

/** Values of `n` fields whose nibbles may be any hex digit (`FieldDef.hexNibbles`). */
const HEX_NIBBLES = /^[0-9A-Fa-f]*$/;

const TYPE_WORDS: Readonly<Record<FieldDef['type'], string>> = {
  n: 'digits',
  z: 'track characters (digits, D or =)',
  an: 'letters, digits or spaces',
  ans: 'printable ASCII characters',
  b: 'hexadecimal byte pairs',
};

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

export function encode(msg: IsoMessage, dialect: Dialect): Buffer {
  const spec = DIALECTS[dialect];
  if (typeof msg !== 'object' || msg === null) {
    throw new Iso8583Error('invalid_value', 'input', 'message must be an object {mti, fields}');
  }
  if (typeof msg.mti !== 'string' || !/^[0-9]{4}$/.test(msg.mti)) {
    throw new Iso8583Error('invalid_mti', 'mti', 'MTI must be 4 digits');
  }
  if (typeof msg.fields !== 'object' || msg.fields === null || Array.isArray(msg.fields)) {
    throw new Iso8583Error('invalid_value', 'input', 'fields must be an object keyed by field number');
  }

  const entries = Object.entries(msg.fields).map(([key, value]) => {
    const def = definedField(spec, key);
    return { def, value: checkValue(def, value) };
  });
  entries.sort((a, b) => a.def.number - b.def.number);

  const numbers = entries.map((e) => e.def.number);
  const parts: Buffer[] = [encodeMti(msg.mti, spec), encodeBitmap(numbers, spec)];
  for (const { def, value } of entries) parts.push(encodeField(def, value, spec));
  return Buffer.concat(parts);
}

function definedField(spec: DialectSpec, key: string): FieldDef {
  const number = /^[1-9][0-9]{0,2}$/.test(key) ? Number(key) : Number.NaN;
  const def = Number.isNaN(number) ? undefined : spec.fields[number];
  if (def === undefined) {
    const why =
      key === '1' || key === '65'
        ? 'bitmap flags are implied by the other fields'
        : `no such field in the ${spec.name} dialect (2..128, except 65)`;
    throw new Iso8583Error(
      'unknown_field',
      Number.isNaN(number) ? 'input' : number,
      `field "${key.slice(0, 8)}": ${why}`,
    );
  }
  return def;
}

function checkValue(def: FieldDef, value: unknown): string {
  const label = `field ${def.number} (${def.name})`;
  if (typeof value !== 'string') {
    throw new Iso8583Error('invalid_value', def.number, `${label}: value must be a string`);
  }
  const pattern = def.hexNibbles ? HEX_NIBBLES : VALUE_PATTERNS[def.type];
  if (!pattern.test(value)) {
    const words = def.hexNibbles ? 'hexadecimal digits' : TYPE_WORDS[def.type];
    throw new Iso8583Error('invalid_value', def.number, `${label}: must be ${words}`);
  }
  const length = def.type === 'b' ? value.length / 2 : value.length;
  const unit = def.type === 'b' ? 'bytes' : def.type === 'n' || def.type === 'z' ? 'digits' : 'characters';
  if (def.lengthKind === 'fixed' && length !== def.length) {
    throw new Iso8583Error(
      'invalid_value',
      def.number,
      `${label}: ${length} ${unit}, needs exactly ${def.length}`,
    );
  }
  if (length > def.length) {
    throw new Iso8583Error('invalid_value', def.number, `${label}: ${length} ${unit}, at most ${def.length}`);
  }
  return value;
}

function encodeMti(mti: string, spec: DialectSpec): Buffer {
  return spec.mti === 'bcd' ? packBcd(mti, 'right') : Buffer.from(mti, 'latin1');
}

function encodeBitmap(numbers: readonly number[], spec: DialectSpec): Buffer {
  const secondary = numbers.some((n) => n > 64);
  const bitmap = Buffer.alloc(secondary ? 16 : 8);
  if (secondary) bitmap[0] = 0x80;
  for (const n of numbers) {
    const bit = n - 1;
    bitmap[bit >> 3] = (bitmap[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  }
  return spec.bitmap === 'binary' ? bitmap : Buffer.from(bitmap.toString('hex').toUpperCase(), 'latin1');
}

function encodeField(def: FieldDef, value: string, spec: DialectSpec): Buffer {
  const length = def.type === 'b' ? value.length / 2 : value.length;
  const prefix = def.lengthKind === 'fixed' ? Buffer.alloc(0) : encodeLengthPrefix(def, length, spec);
  return Buffer.concat([prefix, encodeData(def, value, spec)]);
}

function encodeLengthPrefix(def: FieldDef, length: number, spec: DialectSpec): Buffer {
  const digits = def.lengthKind === 'LLVAR' ? 2 : 3;
  const text = String(length).padStart(digits, '0');
  // BCD LLL takes two bytes with a leading 0 nibble: 011 → 00 11.
  return spec.numeric === 'bcd' ? packBcd(text, 'right') : Buffer.from(text, 'latin1');
}

function encodeData(def: FieldDef, value: string, spec: DialectSpec): Buffer {
  switch (def.type) {
    case 'n':
    case 'z':
      if (spec.numeric !== 'bcd') return Buffer.from(value, 'latin1');
      return packBcd(def.hexNibbles ? value.toUpperCase() : value, bcdAlignOf(def));
    case 'an':
    case 'ans':
      return Buffer.from(value, 'latin1');
    case 'b':
      return spec.binary === 'raw' ? Buffer.from(value, 'hex') : Buffer.from(value.toUpperCase(), 'latin1');
  }
}

/** Packs digits (and the track separator D/=) two per byte, padding an odd count with a 0 nibble. */
function packBcd(digits: string, align: 'left' | 'right'): Buffer {
  const padded = digits.length % 2 === 0 ? digits : align === 'right' ? `0${digits}` : `${digits}0`;
  const out = Buffer.alloc(padded.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (nibbleOf(padded.charCodeAt(2 * i)) << 4) | nibbleOf(padded.charCodeAt(2 * i + 1));
  }
  return out;
}

/** Values were checked against the field's pattern before: digits, D/= (track 2) or hex letters. */
function nibbleOf(charCode: number): number {
  if (charCode >= 0x30 && charCode <= 0x39) return charCode - 0x30;
  if (charCode === 0x3d) return SEPARATOR_NIBBLE; // '=' is the track 2 separator, packed as D
  return Number.parseInt(String.fromCharCode(charCode), 16);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** Internal signal; `decode` turns it into its `{ok: false}` result and never lets it escape. */
class DecodeFailure {
  constructor(readonly error: DecodeError) {}
}

function fail(code: DecodeErrorCode, field: DecodeError['field'], offset: number, message: string): never {
  throw new DecodeFailure({ code, field, offset, message });
}

class Cursor {
  offset = 0;
  constructor(readonly bytes: Buffer) {}

  take(count: number, field: DecodeError['field'], what: string): Buffer {
    const left = this.bytes.length - this.offset;
    if (count > left) {
      fail(
        'truncated',
        field,
        this.offset,
        `${what}: needs ${count} bytes at offset ${this.offset}, ${left} left`,
      );
    }
    const slice = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }
}

export function decode(bytes: Buffer, dialect: Dialect): DecodeResult {
  const spec = DIALECTS[dialect];
  const cursor = new Cursor(bytes);
  try {
    const mti = decodeMti(cursor, spec);
    const numbers = decodeBitmap(cursor, spec);
    const fields: Record<string, string> = {};
    for (const number of numbers) {
      const def = spec.fields[number];
      if (def === undefined) {
        const why = number === 65 ? 'tertiary bitmap is not supported' : `not defined in ${spec.name}`;
        fail('undefined_field', number, cursor.offset, `field ${number} is flagged in the bitmap: ${why}`);
      }
      fields[String(number)] = decodeField(cursor, def, spec);
    }
    if (cursor.offset !== bytes.length) {
      fail(
        'trailing_bytes',
        numbers.at(-1) ?? 'bitmap',
        cursor.offset,
        `${bytes.length - cursor.offset} bytes after the last field`,
      );
    }
    return { ok: true, message: { mti, fields } };
  } catch (thrown) {
    if (thrown instanceof DecodeFailure) return { ok: false, error: thrown.error };
    throw thrown;
  }
}

function decodeMti(cursor: Cursor, spec: DialectSpec): string {
  const start = cursor.offset;
  if (spec.mti === 'bcd') {
    const raw = cursor.take(2, 'mti', 'MTI');
    return unpackDigits(raw, 4, 'right', 'n', 'mti', start, 'bad_mti');
  }
  const raw = cursor.take(4, 'mti', 'MTI');
  raw.forEach((byte, i) => {
    if (byte < 0x30 || byte > 0x39) fail('bad_mti', 'mti', start + i, 'MTI must be 4 ASCII digits');
  });
  return raw.toString('latin1');
}

/** Returns the field numbers flagged in the primary (and secondary) bitmap, in order, without 1. */
function decodeBitmap(cursor: Cursor, spec: DialectSpec): number[] {
  const primary = readBitmap(cursor, spec, 'primary bitmap');
  const secondary = (primary[0] ?? 0) & 0x80 ? readBitmap(cursor, spec, 'secondary bitmap') : Buffer.alloc(0);
  const bitmap = Buffer.concat([primary, secondary]);
  const numbers: number[] = [];
  for (let bit = 1; bit < bitmap.length * 8; bit++) {
    if ((bitmap[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) numbers.push(bit + 1);
  }
  return numbers;
}

function readBitmap(cursor: Cursor, spec: DialectSpec, what: string): Buffer {
  if (spec.bitmap === 'binary') return cursor.take(8, 'bitmap', what);
  const start = cursor.offset;
  const raw = cursor.take(16, 'bitmap', what);
  raw.forEach((byte, i) => {
    if (!isHexDigit(byte)) fail('bad_bitmap', 'bitmap', start + i, `${what} must be 16 hex characters`);
  });
  return Buffer.from(raw.toString('latin1'), 'hex');
}

function decodeField(cursor: Cursor, def: FieldDef, spec: DialectSpec): string {
  const start = cursor.offset;
  const length = def.lengthKind === 'fixed' ? def.length : decodeLengthPrefix(cursor, def, spec);
  if (length > def.length) {
    fail(
      'bad_length',
      def.number,
      start,
      `field ${def.number}: length ${length} exceeds the maximum ${def.length}`,
    );
  }
  const dataStart = cursor.offset;
  const what = `field ${def.number} (${def.name})`;
  switch (def.type) {
    case 'n':
    case 'z': {
      if (spec.numeric === 'bcd') {
        const raw = cursor.take(Math.ceil(length / 2), def.number, what);
        const nibbles = def.hexNibbles ? 'hex' : def.type;
        return unpackDigits(raw, length, bcdAlignOf(def), nibbles, def.number, dataStart, 'bad_bcd');
      }
      const raw = cursor.take(length, def.number, what);
      checkBytes(raw, def.type === 'n' ? isDigit : isTrackChar, def, dataStart, TYPE_WORDS[def.type]);
      return raw.toString('latin1');
    }
    case 'an':
    case 'ans': {
      const raw = cursor.take(length, def.number, what);
      checkBytes(
        raw,
        def.type === 'an' ? isAlphaNumericOrSpace : isPrintable,
        def,
        dataStart,
        TYPE_WORDS[def.type],
      );
      return raw.toString('latin1');
    }
    case 'b': {
      if (spec.binary === 'raw') return cursor.take(length, def.number, what).toString('hex').toUpperCase();
      const raw = cursor.take(length * 2, def.number, what);
      checkBytes(raw, isHexDigit, def, dataStart, 'hexadecimal characters');
      return raw.toString('latin1').toUpperCase();
    }
  }
}

function decodeLengthPrefix(cursor: Cursor, def: FieldDef, spec: DialectSpec): number {
  const start = cursor.offset;
  const digits = def.lengthKind === 'LLVAR' ? 2 : 3;
  const what = `field ${def.number} length prefix`;
  if (spec.numeric === 'bcd') {
    const raw = cursor.take(digits === 2 ? 1 : 2, def.number, what);
    const text = unpackDigits(raw, raw.length * 2, 'right', 'n', def.number, start, 'bad_bcd');
    // A 2-byte BCD LLL has room for 4 digits; only 000..999 are lengths.
    if (text.length === 4 && text[0] !== '0') {
      fail('bad_length', def.number, start, `${what}: ${text} is more than 3 digits`);
    }
    return Number(text);
  }
  const raw = cursor.take(digits, def.number, what);
  raw.forEach((byte, i) => {
    if (!isDigit(byte)) fail('bad_length', def.number, start + i, `${what} must be ${digits} ASCII digits`);
  });
  return Number(raw.toString('latin1'));
}

/**
 * Unpacks `count` BCD digits from `raw` (which holds ceil(count/2) bytes). An odd count leaves one
 * pad nibble, before the digits (`right`) or after them (`left`); it must be 0, so that every
 * message has exactly one encoding and a shifted or corrupted field is caught here.
 */
function unpackDigits(
  raw: Buffer,
  count: number,
  align: 'left' | 'right',
  type: 'n' | 'z' | 'hex',
  field: DecodeError['field'],
  start: number,
  code: DecodeErrorCode,
): string {
  const skipFirst = count % 2 === 1 && align === 'right';
  const padLast = count % 2 === 1 && align === 'left';
  let out = '';
  for (let i = 0; i < raw.length * 2; i++) {
    const byte = raw[i >> 1] ?? 0;
    const nibble = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    const isPad = (i === 0 && skipFirst) || (i === raw.length * 2 - 1 && padLast);
    if (isPad) {
      if (nibble !== 0) fail(code, field, start + (i >> 1), `${describe(field)}: pad nibble must be 0`);
      continue;
    }
    if (nibble <= 9) out += String.fromCharCode(0x30 + nibble);
    else if (type === 'hex') out += nibble.toString(16).toUpperCase();
    else if (type === 'z' && nibble === SEPARATOR_NIBBLE) out += 'D';
    else
      fail(
        code,
        field,
        start + (i >> 1),
        `${describe(field)}: nibble ${nibble.toString(16).toUpperCase()} is not a digit`,
      );
  }
  return out;
}

function describe(field: DecodeError['field']): string {
  return typeof field === 'number' ? `field ${field}` : field === 'mti' ? 'MTI' : field;
}

function checkBytes(
  raw: Buffer,
  ok: (byte: number) => boolean,
  def: FieldDef,
  start: number,
  words: string,
): void {
  raw.forEach((byte, i) => {
    if (!ok(byte)) fail('bad_char', def.number, start + i, `field ${def.number}: must be ${words}`);
  });
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

function isTrackChar(byte: number): boolean {
  return isDigit(byte) || byte === 0x3d /* = */ || byte === 0x44 /* D */;
}

function isHexDigit(byte: number): boolean {
  return isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

function isAlphaNumericOrSpace(byte: number): boolean {
  return isDigit(byte) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x20;
}

function isPrintable(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e;
}

// ---------------------------------------------------------------------------------------------
// Helpers for callers that work in hex (CLI, logs of non-sensitive frames, tests)
// ---------------------------------------------------------------------------------------------

/** Parses a hex string (whitespace ignored); throws `Iso8583Error('bad_hex')`. */
export function bytesFromHex(hex: string): Buffer {
  const compact = hex.replace(/\s+/g, '');
  if (!/^(?:[0-9A-Fa-f]{2})*$/.test(compact)) {
    throw new Iso8583Error('bad_hex', 'input', 'expected an even number of hexadecimal characters');
  }
  return Buffer.from(compact, 'hex');
}

export function hexOf(bytes: Buffer): string {
  return bytes.toString('hex').toUpperCase();
}
