/**
 * ISO 8583 field definitions, as data, for the two dialects Refund Desk speaks (PRODUCT.md §9).
 *
 * Why hand-written: STYLE.md asks for a maintained library per job. On npm (checked 2026-11) the
 * ISO 8583 packages are `iso_8583` 2.6.7 (zemuldo; Postilion-style ASCII messages with a hex bitmap,
 * no BCD numerics or BCD length prefixes), `iso8583` 0.0.1 (an ASCII-only parser from 2013) and
 * `jspos` 0.0.11-RELEASE (an untyped port of jPOS that depends on an alpha `jsdk`, throws on
 * malformed input and ships no field table for UnionPay terminals). None decodes the UnionPay-style
 * binary dialect with typed, never-throwing errors, so the table below and `codec.ts` are ours.
 *
 * Units: `length` counts digits for `n` and `z`, characters for `an` and `ans`, bytes for `b`.
 * For `fixed` fields it is the exact length, for `LLVAR`/`LLLVAR` the maximum.
 *
 * Sources: the ISO 8583:1987 data element table (as in jPOS `ISO87APackager`/`ISO87BPackager`),
 * with the UnionPay POS terminal conventions for the `cup` dialect, checked against a jPOS packager
 * for a UnionPay acquirer (github.com/yinheli/jpos_blue_potato src/main/resources/packager.xml) and
 * against published UnionPay messages (see test/network/iso8583/fixtures/published.json).
 */

export type FieldType = 'n' | 'an' | 'ans' | 'b' | 'z';
export type LengthKind = 'fixed' | 'LLVAR' | 'LLLVAR';

/**
 * Where the digits of an odd-length BCD field sit (binary dialect only).
 * - `right`: right-justified, the free nibble is a leading 0 (`"123"` → `01 23`).
 * - `left`: left-justified, the free nibble is a trailing 0 (`"123"` → `12 30`).
 */
export type BcdAlign = 'left' | 'right';

export interface FieldDef {
  readonly number: number;
  readonly name: string;
  readonly type: FieldType;
  readonly lengthKind: LengthKind;
  readonly length: number;
  /** For `n` and `z` in the binary dialect; see `bcdAlignOf`. */
  readonly bcdAlign?: BcdAlign;
  /**
   * For `n` in the binary dialect: the packed nibbles may be any hex digit, not only 0–9 (a
   * private field whose flags are binary); such a nibble reads as an UPPERCASE letter A–F.
   */
  readonly hexNibbles?: true;
}

export const dialects = ['cup', 'ascii87'] as const;
export type Dialect = (typeof dialects)[number];

export function isDialect(value: string): value is Dialect {
  return (dialects as readonly string[]).includes(value);
}

/** How a dialect puts each part of a message on the wire. */
export interface DialectSpec {
  readonly name: Dialect;
  /** `bcd`: MTI in 2 bytes BCD; `ascii`: 4 ASCII digits. */
  readonly mti: 'bcd' | 'ascii';
  /** `binary`: 8 raw bytes per bitmap; `hex`: 16 hex characters per bitmap. */
  readonly bitmap: 'binary' | 'hex';
  /** `n`/`z` data and LL/LLL prefixes: `bcd` packed nibbles, or `ascii` digits. */
  readonly numeric: 'bcd' | 'ascii';
  /** `b` data: `raw` bytes, or `hex` characters (2 per byte). */
  readonly binary: 'raw' | 'hex';
  /** Index = field number; 0, 1 and 65 are undefined (MTI, secondary and tertiary bitmap flags). */
  readonly fields: ReadonlyArray<FieldDef | undefined>;
}

type Row = readonly [number: number, type: FieldType, kind: LengthKind, length: number, name: string];

const F = 'fixed';
const LL = 'LLVAR';
const LLL = 'LLLVAR';

/**
 * ISO 8583:1987 data elements 2..128 (1 and 65 are bitmap flags and are implied by the codec).
 * Simplifications, noted where the 1987 table has a type we do not model:
 * - `x+n` amounts (28–31, 97: a C/D sign then digits) are carried as `an` text;
 * - `ns`/`an` text fields that hold track or free text (34, 45, 46–48, 56–63, 101–127) are `ans`;
 * - 55 (EMV data) is binary `b...255`, as every EMV acquirer uses it.
 */
const ISO87: readonly Row[] = [
  [2, 'n', LL, 19, 'Primary account number'],
  [3, 'n', F, 6, 'Processing code'],
  [4, 'n', F, 12, 'Amount, transaction'],
  [5, 'n', F, 12, 'Amount, settlement'],
  [6, 'n', F, 12, 'Amount, cardholder billing'],
  [7, 'n', F, 10, 'Transmission date and time'],
  [8, 'n', F, 8, 'Amount, cardholder billing fee'],
  [9, 'n', F, 8, 'Conversion rate, settlement'],
  [10, 'n', F, 8, 'Conversion rate, cardholder billing'],
  [11, 'n', F, 6, 'System trace audit number'],
  [12, 'n', F, 6, 'Time, local transaction'],
  [13, 'n', F, 4, 'Date, local transaction'],
  [14, 'n', F, 4, 'Date, expiration'],
  [15, 'n', F, 4, 'Date, settlement'],
  [16, 'n', F, 4, 'Date, conversion'],
  [17, 'n', F, 4, 'Date, capture'],
  [18, 'n', F, 4, 'Merchant type'],
  [19, 'n', F, 3, 'Acquiring institution country code'],
  [20, 'n', F, 3, 'PAN extended, country code'],
  [21, 'n', F, 3, 'Forwarding institution country code'],
  [22, 'n', F, 3, 'Point of service entry mode'],
  [23, 'n', F, 3, 'Card sequence number'],
  [24, 'n', F, 3, 'Network international identifier'],
  [25, 'n', F, 2, 'Point of service condition code'],
  [26, 'n', F, 2, 'Point of service PIN capture code'],
  [27, 'n', F, 1, 'Authorization identification response length'],
  [28, 'an', F, 9, 'Amount, transaction fee'],
  [29, 'an', F, 9, 'Amount, settlement fee'],
  [30, 'an', F, 9, 'Amount, transaction processing fee'],
  [31, 'an', F, 9, 'Amount, settlement processing fee'],
  [32, 'n', LL, 11, 'Acquiring institution identification code'],
  [33, 'n', LL, 11, 'Forwarding institution identification code'],
  [34, 'ans', LL, 28, 'Primary account number, extended'],
  [35, 'z', LL, 37, 'Track 2 data'],
  [36, 'z', LLL, 104, 'Track 3 data'],
  [37, 'an', F, 12, 'Retrieval reference number'],
  [38, 'an', F, 6, 'Authorization identification response'],
  [39, 'an', F, 2, 'Response code'],
  [40, 'an', F, 3, 'Service restriction code'],
  [41, 'ans', F, 8, 'Card acceptor terminal identification'],
  [42, 'ans', F, 15, 'Card acceptor identification code'],
  [43, 'ans', F, 40, 'Card acceptor name/location'],
  [44, 'an', LL, 25, 'Additional response data'],
  [45, 'ans', LL, 76, 'Track 1 data'],
  [46, 'ans', LLL, 999, 'Additional data, ISO'],
  [47, 'ans', LLL, 999, 'Additional data, national'],
  [48, 'ans', LLL, 999, 'Additional data, private'],
  [49, 'an', F, 3, 'Currency code, transaction'],
  [50, 'an', F, 3, 'Currency code, settlement'],
  [51, 'an', F, 3, 'Currency code, cardholder billing'],
  [52, 'b', F, 8, 'Personal identification number data'],
  [53, 'n', F, 16, 'Security related control information'],
  [54, 'an', LLL, 120, 'Additional amounts'],
  [55, 'b', LLL, 255, 'ICC data (EMV)'],
  [56, 'ans', LLL, 999, 'Reserved, ISO'],
  [57, 'ans', LLL, 999, 'Reserved, national'],
  [58, 'ans', LLL, 999, 'Reserved, national'],
  [59, 'ans', LLL, 999, 'Reserved, national'],
  [60, 'ans', LLL, 999, 'Reserved, private'],
  [61, 'ans', LLL, 999, 'Reserved, private (original transaction data)'],
  [62, 'ans', LLL, 999, 'Reserved, private'],
  [63, 'ans', LLL, 999, 'Reserved, private'],
  [64, 'b', F, 8, 'Message authentication code'],
  [66, 'n', F, 1, 'Settlement code'],
  [67, 'n', F, 2, 'Extended payment code'],
  [68, 'n', F, 3, 'Receiving institution country code'],
  [69, 'n', F, 3, 'Settlement institution country code'],
  [70, 'n', F, 3, 'Network management information code'],
  [71, 'n', F, 4, 'Message number'],
  [72, 'n', F, 4, 'Message number, last'],
  [73, 'n', F, 6, 'Date, action'],
  [74, 'n', F, 10, 'Credits, number'],
  [75, 'n', F, 10, 'Credits, reversal number'],
  [76, 'n', F, 10, 'Debits, number'],
  [77, 'n', F, 10, 'Debits, reversal number'],
  [78, 'n', F, 10, 'Transfer, number'],
  [79, 'n', F, 10, 'Transfer, reversal number'],
  [80, 'n', F, 10, 'Inquiries, number'],
  [81, 'n', F, 10, 'Authorizations, number'],
  [82, 'n', F, 12, 'Credits, processing fee amount'],
  [83, 'n', F, 12, 'Credits, transaction fee amount'],
  [84, 'n', F, 12, 'Debits, processing fee amount'],
  [85, 'n', F, 12, 'Debits, transaction fee amount'],
  [86, 'n', F, 16, 'Credits, amount'],
  [87, 'n', F, 16, 'Credits, reversal amount'],
  [88, 'n', F, 16, 'Debits, amount'],
  [89, 'n', F, 16, 'Debits, reversal amount'],
  [90, 'n', F, 42, 'Original data elements'],
  [91, 'an', F, 1, 'File update code'],
  [92, 'an', F, 2, 'File security code'],
  [93, 'an', F, 5, 'Response indicator'],
  [94, 'an', F, 7, 'Service indicator'],
  [95, 'an', F, 42, 'Replacement amounts'],
  [96, 'b', F, 8, 'Message security code'],
  [97, 'an', F, 17, 'Amount, net settlement'],
  [98, 'ans', F, 25, 'Payee'],
  [99, 'n', LL, 11, 'Settlement institution identification code'],
  [100, 'n', LL, 11, 'Receiving institution identification code'],
  [101, 'ans', LL, 17, 'File name'],
  [102, 'ans', LL, 28, 'Account identification 1'],
  [103, 'ans', LL, 28, 'Account identification 2'],
  [104, 'ans', LLL, 100, 'Transaction description'],
  ...range(105, 111).map((n): Row => [n, 'ans', LLL, 999, 'Reserved, ISO']),
  ...range(112, 119).map((n): Row => [n, 'ans', LLL, 999, 'Reserved, national']),
  ...range(120, 127).map((n): Row => [n, 'ans', LLL, 999, 'Reserved, private']),
  [128, 'b', F, 8, 'Message authentication code (secondary)'],
];

/**
 * UnionPay POS terminal usage of the private fields (银联卡受理终端应用规范 conventions, as the
 * UnionPay jPOS packager above and the published messages show):
 * - 22 POS entry mode is left-justified BCD (`"051"` → `05 10`), unlike every other fixed `n` field;
 * - 48 carries settlement totals as BCD digits; 54 is the balance amount (an...020);
 * - 60 is packed nibbles (message type code n2, batch number n6, network management code n3, then
 *   terminal capability flags): up to 17 in current terminal specs, 11–12 in the samples;
 * - 61 is the original transaction (batch n6, trace n6, date n4, …) as packed nibbles, n...029;
 * - 62 is binary: working keys in the sign-in answer (0810), up to 512 bytes;
 * - 63 is bytes, up to 163: operator number in the sign-in and card organisation in answers are
 *   ASCII, but issuers' names come in GBK and terminals put binary flags there.
 * The private fields 60–63 carry binary data in real traffic, so they decode losslessly instead of
 * refusing the whole message: 60 and 61 as their nibbles (digits, and A–F where a flag nibble is
 * not a digit), 62 and 63 as hex bytes (ASCII `001` is `303031`). Digits only still fit 48/60/61
 * in both dialects.
 */
const CUP_OVERRIDES: readonly Row[] = [
  [48, 'n', LLL, 322, 'Additional data, private (settlement totals)'],
  [54, 'an', LLL, 20, 'Additional amounts (balance)'],
  [60, 'n', LLL, 17, 'Reserved, private (message type, batch number, management code)'],
  [61, 'n', LLL, 29, 'Original transaction data (batch, trace, date)'],
  [62, 'b', LLL, 512, 'Reserved, private (working keys)'],
  [63, 'b', LLL, 163, 'Reserved, private (operator, card organisation, issuer)'],
];

/** Private fields whose packed nibbles decode as hex digits in the `cup` dialect (see above). */
const CUP_HEX_NIBBLES: ReadonlySet<number> = new Set([60, 61]);

/** Fields whose BCD digits are left-justified in the `cup` dialect (see CUP_OVERRIDES). */
const CUP_LEFT_ALIGNED_FIXED: ReadonlySet<number> = new Set([22]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function table(
  rows: readonly Row[],
  overrides: readonly Row[],
  leftAligned: ReadonlySet<number>,
  hexNibbles: ReadonlySet<number> = new Set(),
) {
  const fields: (FieldDef | undefined)[] = new Array(129).fill(undefined);
  for (const [number, type, lengthKind, length, name] of [...rows, ...overrides]) {
    const def: FieldDef = {
      number,
      name,
      type,
      lengthKind,
      length,
      ...(leftAligned.has(number) ? { bcdAlign: 'left' as const } : {}),
      ...(hexNibbles.has(number) && type === 'n' ? { hexNibbles: true as const } : {}),
    };
    fields[number] = Object.freeze(def);
  }
  return Object.freeze(fields);
}

export const DIALECTS: Readonly<Record<Dialect, DialectSpec>> = Object.freeze({
  cup: Object.freeze({
    name: 'cup',
    mti: 'bcd',
    bitmap: 'binary',
    numeric: 'bcd',
    binary: 'raw',
    fields: table(ISO87, CUP_OVERRIDES, CUP_LEFT_ALIGNED_FIXED, CUP_HEX_NIBBLES),
  }),
  ascii87: Object.freeze({
    name: 'ascii87',
    mti: 'ascii',
    bitmap: 'hex',
    numeric: 'ascii',
    binary: 'hex',
    fields: table(ISO87, [], new Set()),
  }),
});

/** The definition of field `number` in `dialect`, or undefined for 0, 1, 65 and numbers past 128. */
export function fieldDef(dialect: Dialect, number: number): FieldDef | undefined {
  return DIALECTS[dialect].fields[number];
}

/**
 * Alignment of BCD digits in the binary dialect. Fixed-length fields are right-justified with a
 * leading 0 nibble (jPOS `IFB_NUMERIC(len, name, true)`, ISO87BPackager), except those marked `left`.
 * Variable-length fields are left-justified with a trailing 0 nibble: the LL/LLL prefix counts the
 * digits, so the pad is the last nibble (jPOS `IFB_LLNUM(len, name, false)` in ISO87BPackager,
 * pyiso8583's BCD LLVAR example, and every UnionPay sample we found: field 60 `0011 000000010030`).
 */
export function bcdAlignOf(def: FieldDef): BcdAlign {
  if (def.bcdAlign !== undefined) return def.bcdAlign;
  return def.lengthKind === 'fixed' ? 'right' : 'left';
}
