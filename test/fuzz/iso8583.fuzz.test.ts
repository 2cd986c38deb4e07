/**
 * The ISO 8583 link's parsers under fuzzing: what test/network/iso8583/codec.property.test.ts and
 * framing.test.ts do not cover yet.
 *
 * - decode: arbitrary bitmaps (secondary and tertiary flags, undefined fields), length prefixes
 *   rewritten to any value (beyond the field maximum, beyond LLL, not digits), megabytes of input;
 * - FrameDecoder: arbitrary byte streams cut anywhere (junk frames, oversized and undersized length
 *   prefixes, bad TPDUs) — the same answer however the stream is split, bounded memory, and an
 *   oversized prefix refused as soon as it arrives;
 * - the card link's wire codec (card-link/wire.ts): framing + decode + MAC on arbitrary streams, a
 *   valid framed message round-trips, and any change to a MACed message is caught;
 * - the `iso8583` CLI on arbitrary hex and JSON arguments.
 *
 * Every malformed input must come back as the module's typed error — a `DecodeError` value, a
 * `FrameError`, an `Iso8583Error` — never another exception, and never a hang.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { answersRequest, IsoFrameCodec, MACED, macValid } from '../../src/network/card-link/wire.js';
import { iso8583Cli } from '../../src/network/iso8583/cli.js';
import { bytesFromHex, encode } from '../../src/network/iso8583/codec.js';
import { Iso8583Error } from '../../src/network/iso8583/errors.js';
import { DIALECTS, type Dialect, dialects, type FieldDef } from '../../src/network/iso8583/fields.js';
import {
  type Frame,
  FrameDecoder,
  type FrameError,
  frame,
  LENGTH_PREFIX_BYTES,
  MAX_FRAME_BYTES,
} from '../../src/network/iso8583/framing.js';
import {
  definedFields,
  expectWellBehavedDecode,
  messageArb,
  mtiArb,
  valueArb,
} from '../network/iso8583/arbitraries.js';
import { recordFigures } from '../support/figures.js';
import { CaseCounter, fuzzRuns, fuzzSeed } from './runs.js';

const RUNS = fuzzRuns(300);
const cases = new CaseCounter();
const started = Date.now();
afterAll(() => {
  console.log(`${cases.summary('iso8583 fuzz')}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  recordFigures('fuzz: ISO 8583 decoder, framing, wire', { cases: cases.total });
});

const bytesArb = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** MTI bytes and bitmap width of a dialect, read from an encoded empty message. */
function layout(dialect: Dialect) {
  const spec = DIALECTS[dialect];
  return {
    mtiBytes: spec.mti === 'bcd' ? 2 : 4,
    bitmapBytes: (secondary: boolean) => (spec.bitmap === 'binary' ? 8 : 16) * (secondary ? 2 : 1),
    prefixBytes: (def: FieldDef) =>
      spec.numeric === 'bcd' ? (def.lengthKind === 'LLVAR' ? 1 : 2) : def.lengthKind === 'LLVAR' ? 2 : 3,
    bcd: spec.numeric === 'bcd',
  };
}

describe.each(dialects)('%s decoder under fuzzing', (dialect) => {
  const { mtiBytes, bitmapBytes, prefixBytes, bcd } = layout(dialect);
  const mtiHead = mtiArb.map((mti) => encode({ mti, fields: {} }, dialect).subarray(0, mtiBytes));

  it('answers any bitmap (secondary and tertiary flags, undefined fields) with a typed error or a valid message', () => {
    // The flagged fields, written as a bitmap the dialect's way; bit 1 and bit 65 may be set too.
    const bitmapArb = fc.uniqueArray(fc.integer({ min: 1, max: 128 }), { maxLength: 24 }).map((bits) => {
      const raw = Buffer.alloc(16);
      for (const n of bits) raw[(n - 1) >> 3] = (raw[(n - 1) >> 3] ?? 0) | (0x80 >> ((n - 1) & 7));
      const width = bitmapBytes(bits.includes(1)) / (DIALECTS[dialect].bitmap === 'binary' ? 1 : 2);
      const used = raw.subarray(0, width);
      return DIALECTS[dialect].bitmap === 'binary'
        ? used
        : Buffer.from(used.toString('hex')[bits.length % 2 ? 'toUpperCase' : 'toLowerCase'](), 'latin1');
    });
    fc.assert(
      fc.property(
        mtiHead,
        bitmapArb,
        bytesArb(300),
        cases.count(`${dialect} bitmap junk`, (head: Buffer, bitmap: Buffer, tail: Buffer) => {
          const result = expectWellBehavedDecode(Buffer.concat([head, bitmap, tail]), dialect);
          if (result.ok) expect(result.message.fields['65']).toBeUndefined();
          if (!result.ok && result.error.code === 'undefined_field') expect(result.error.field).toBe(65);
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('refuses a length prefix rewritten to anything else: beyond the maximum is bad_length, never a read past it', () => {
    const variable = definedFields(dialect).filter((d) => d.lengthKind !== 'fixed');
    const caseArb = fc.constantFrom(...variable).chain((def) =>
      fc.record({
        def: fc.constant(def),
        mti: mtiArb,
        value: valueArb(def, dialect),
        prefix: fc.oneof(
          // Any digits: within the maximum, beyond it, beyond 999 for a BCD LLL.
          fc.integer({ min: 0, max: def.lengthKind === 'LLVAR' ? 99 : bcd ? 9999 : 999 }).map((n) => ({ n })),
          bytesArb(prefixBytes(def))
            .filter((b) => b.length === prefixBytes(def))
            .map((raw) => ({ raw })),
        ),
      }),
    );
    fc.assert(
      fc.property(
        caseArb,
        cases.count(`${dialect} length prefixes`, ({ def, mti, value, prefix }) => {
          const bytes = encode({ mti, fields: { [def.number]: value } }, dialect);
          const at = mtiBytes + bitmapBytes(def.number > 64);
          const width = prefixBytes(def);
          const digits = width * (bcd ? 2 : 1);
          const written =
            'raw' in prefix
              ? prefix.raw
              : bcd
                ? Buffer.from(String(prefix.n).padStart(digits, '0'), 'hex')
                : Buffer.from(String(prefix.n).padStart(digits, '0'), 'latin1');
          const mutated = Buffer.concat([bytes.subarray(0, at), written, bytes.subarray(at + width)]);
          const result = expectWellBehavedDecode(mutated, dialect);
          const text = bcd ? written.toString('hex') : written.toString('latin1');
          if (!/^[0-9]+$/.test(text)) {
            expect(result.ok).toBe(false);
            if (!result.ok) {
              expect(result.error.code).toBe(bcd ? 'bad_bcd' : 'bad_length');
              expect(result.error.field).toBe(def.number);
            }
            return;
          }
          const declared = Number(text);
          const overLll = bcd && digits === 4 && text[0] !== '0';
          if (declared > def.length || overLll) {
            expect(result).toMatchObject({
              ok: false,
              error: { code: 'bad_length', field: def.number, offset: at },
            });
          } else if (result.ok) {
            // Only the one canonical encoding decodes: the bytes are those of the decoded message.
            expect(encode(result.message, dialect)).toEqual(mutated);
          }
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('answers megabytes of input at once (decoding stops at the first problem, never hangs)', () => {
    fc.assert(
      fc.property(
        messageArb(dialect, 8),
        fc.integer({ min: 64 * 1024, max: 2 * 1024 * 1024 }),
        fc.integer({ min: 0, max: 255 }),
        cases.count(`${dialect} megabytes`, (msg, size, fill) => {
          const huge = Buffer.concat([encode(msg, dialect), Buffer.alloc(size, fill)]);
          const t0 = performance.now();
          const result = expectWellBehavedDecode(huge, dialect);
          expect(performance.now() - t0).toBeLessThan(2_000);
          expect(result.ok).toBe(false);
          const junk = Buffer.alloc(size, fill);
          const t1 = performance.now();
          expectWellBehavedDecode(junk, dialect);
          expect(performance.now() - t1).toBeLessThan(2_000);
        }),
      ),
      { numRuns: Math.min(RUNS, 25), ...fuzzSeed() },
    );
  });
});

// ---- framing ----------------------------------------------------------------------------------

const tpduArb = fc.stringMatching(/^60[0-9A-F]{8}$/);
const headerArb = fc.stringMatching(/^[0-9A-F]{12}$/);

/** Stream segments: valid frames, and the ways a stream breaks. */
const segmentArb = (withHeader: boolean): fc.Arbitrary<Buffer> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(tpduArb, headerArb, fc.uint8Array({ minLength: 1, maxLength: 300 }))
        .map(([tpdu, header, msg]) =>
          frame(Buffer.from(msg), { tpdu, header: withHeader ? header : undefined }),
        ),
    },
    // Length prefixes over the limit, up to 0xFFFF.
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: MAX_FRAME_BYTES + 1, max: 0xffff })
        .map((n) => Buffer.from([n >> 8, n & 0xff])),
    },
    // Shorter than TPDU (+ header) + one byte.
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 0, max: withHeader ? 11 : 5 })
        .chain((n) =>
          fc
            .uint8Array({ minLength: n, maxLength: n })
            .map((b) => Buffer.concat([Buffer.from([0, n]), Buffer.from(b)])),
        ),
    },
    // A TPDU that does not start with 0x60.
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x60),
          fc.uint8Array({ minLength: 12, maxLength: 40 }),
        )
        .map(([id, rest]) => Buffer.concat([Buffer.from([0, rest.length + 1, id]), Buffer.from(rest)])),
    },
    { weight: 1, arbitrary: bytesArb(64) },
  );

interface Pushed {
  frames: Frame[];
  error: FrameError | null;
}

function pushAll(decoder: FrameDecoder, chunks: readonly Buffer[]): Pushed {
  const frames: Frame[] = [];
  let error: FrameError | null = null;
  let pushed = 0;
  for (const chunk of chunks) {
    const out = decoder.push(chunk);
    pushed += chunk.length;
    if (error) {
      // Stopped for good: the same error, no frames, nothing held.
      expect(out).toEqual({ frames: [], error });
    } else {
      frames.push(...out.frames);
      error = out.error;
    }
    expect(decoder.pendingBytes).toBeLessThanOrEqual(LENGTH_PREFIX_BYTES + MAX_FRAME_BYTES);
    if (error) {
      expect(decoder.pendingBytes).toBe(0);
      expect(error.offset).toBeLessThanOrEqual(pushed);
    }
  }
  return { frames, error };
}

function split(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  return [...points, stream.length].map((end, i, all) =>
    stream.subarray(i === 0 ? 0 : (all[i - 1] ?? 0), end),
  );
}

describe('FrameDecoder under fuzzing', () => {
  it('gives the same frames and error however an arbitrary stream is split, holding at most one frame', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean().chain((h) => fc.array(segmentArb(h), { minLength: 1, maxLength: 8 })),
        fc.array(fc.nat(), { maxLength: 16 }),
        cases.count('framing splits', (withHeader, segments, cuts) => {
          const stream = Buffer.concat(segments);
          const whole = pushAll(new FrameDecoder({ header: withHeader }), [stream]);
          const pieces = pushAll(new FrameDecoder({ header: withHeader }), split(stream, cuts));
          expect(pieces).toEqual(whole);
          const oneByOne = pushAll(
            new FrameDecoder({ header: withHeader }),
            [...stream].map((b) => Buffer.from([b])),
          );
          expect(oneByOne).toEqual(whole);
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('refuses an oversized length prefix the moment its two bytes arrive, without buffering what follows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_FRAME_BYTES + 1, max: 0xffff }),
        fc.integer({ min: 0, max: 256 * 1024 }),
        cases.count('framing oversized prefix', (announced, following) => {
          const decoder = new FrameDecoder({ header: true });
          expect(decoder.push(Buffer.from([announced >> 8]))).toEqual({ frames: [], error: null });
          const { error } = decoder.push(Buffer.from([announced & 0xff]));
          expect(error).toMatchObject({ code: 'frame_too_large', offset: 0 });
          expect(decoder.push(Buffer.alloc(following, 0x60)).error).toEqual(error);
          expect(decoder.pendingBytes).toBe(0);
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });
});

// ---- the card link's wire codec -----------------------------------------------------------------

const MAC_KEY = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');

/** One error per broken stream, with the message the connection logs; never a TypeError or RangeError. */
function expectWireError(err: unknown) {
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).constructor).toBe(Error);
  expect((err as Error).message).toMatch(/^(framing|undecodable message): /);
}

describe('card link wire codec under fuzzing', () => {
  it('turns arbitrary bytes into messages or one typed error per broken stream', () => {
    fc.assert(
      fc.property(
        fc.array(segmentArb(true), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        cases.count('wire junk', (segments, cuts) => {
          const codec = new IsoFrameCodec(() => MAC_KEY);
          for (const chunk of split(Buffer.concat(segments), cuts)) {
            try {
              for (const m of codec.push(chunk)) {
                // A decoded message is safe to look at: its MAC check and answer matching never throw.
                expect(typeof macValid(m, MAC_KEY)).toBe('boolean');
                expect(typeof answersRequest(m, m)).toBe('boolean');
              }
            } catch (err) {
              expectWireError(err);
              codec.reset();
            }
          }
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  const wireMessageArb = fc
    .tuple(messageArb('cup', 12), fc.constantFrom('0200', '0220', '0400', '0500', '0800', '0820', '0210'))
    .map(([msg, mti]) => ({ mti, fields: msg.fields }));

  it('round-trips every valid message it frames, MAC included', () => {
    fc.assert(
      fc.property(
        wireMessageArb,
        fc.array(fc.nat(), { maxLength: 6 }),
        cases.count('wire round trip', (msg, cuts) => {
          const sender = new IsoFrameCodec(() => MAC_KEY);
          const receiver = new IsoFrameCodec(() => MAC_KEY);
          const bytes = sender.toFrame(msg);
          const got = split(bytes, cuts).flatMap((c) => receiver.push(c));
          expect(got).toHaveLength(1);
          const [m] = got;
          if (!m) return;
          expect(m.mti).toBe(msg.mti);
          const { '64': _m64, '128': _m128, ...sent } = msg.fields;
          const { '64': _r64, '128': _r128, ...received } = m.fields;
          expect(received).toEqual(sent);
          expect(macValid(m, MAC_KEY)).toBe(true);
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('never accepts a MACed message with any byte changed as one', () => {
    fc.assert(
      fc.property(
        wireMessageArb.filter((m) => MACED.has(m.mti)),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        cases.count('wire tampering', (msg, at, xor) => {
          const bytes = new IsoFrameCodec(() => MAC_KEY).toFrame(msg);
          // Past the length prefix, TPDU and header: the message the MAC covers.
          const start = LENGTH_PREFIX_BYTES + 5 + 6;
          const i = start + (at % (bytes.length - start));
          const tampered = Buffer.from(bytes);
          tampered[i] = (tampered[i] ?? 0) ^ xor;
          let got: ReturnType<IsoFrameCodec['push']> = [];
          try {
            got = new IsoFrameCodec(() => MAC_KEY).push(tampered);
          } catch (err) {
            expectWireError(err);
          }
          // A changed MTI may name a type that carries no MAC (an echo): it is then not this message.
          for (const m of got) if (MACED.has(m.mti)) expect(macValid(m, MAC_KEY)).toBe(false);
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });
});

// ---- the CLI and hex input ----------------------------------------------------------------------

describe('iso8583 CLI and hex parsing under fuzzing', () => {
  const jsonish = fc.oneof(
    fc.json(),
    fc
      .record({
        mti: fc.oneof(mtiArb, fc.jsonValue()),
        fields: fc.dictionary(
          fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.string()),
          fc.jsonValue(),
        ),
      })
      .map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 100 }),
  );
  const hexish = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('hex')),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF \n\tg-xZ'.split('')), maxLength: 200 }),
    fc.string({ maxLength: 50 }),
  );

  it('answers any argument with exit 0, 1 (a typed error as JSON) or 2 (usage), never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.tuple(fc.constant('decode'), hexish), fc.tuple(fc.constant('encode'), jsonish)),
        fc.constantFrom<string[]>(
          [],
          ['--dialect', 'cup'],
          ['--dialect', 'ascii87'],
          ['--dialect', 'x'],
          ['--dialect'],
        ),
        cases.count('cli arguments', async ([command, input]: [string, string], flags: string[]) => {
          const out: string[] = [];
          const errs: string[] = [];
          const code = await iso8583Cli([command, input, ...flags], {
            stdout: (s) => out.push(s),
            stderr: (s) => errs.push(s),
          });
          expect([0, 1, 2]).toContain(code);
          if (code === 0) expect(out.join('')).toMatch(/\S/);
          if (code === 1) expect(JSON.parse(errs.join(''))).toHaveProperty('code');
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('parses hex into bytes or refuses it with bad_hex', () => {
    fc.assert(
      fc.property(
        hexish,
        cases.count('hex strings', (hex: string) => {
          try {
            const bytes = bytesFromHex(hex);
            expect(bytes.toString('hex')).toBe(hex.replace(/\s+/g, '').toLowerCase());
          } catch (err) {
            expect(err).toBeInstanceOf(Iso8583Error);
            expect((err as Iso8583Error).code).toBe('bad_hex');
          }
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('refuses any malformed message object with an Iso8583Error', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.record({ mti: fc.anything(), fields: fc.anything() })),
        fc.constantFrom(...dialects),
        cases.count('encode junk', (value: unknown, dialect: Dialect) => {
          try {
            encode(value as never, dialect);
          } catch (err) {
            expect(err).toBeInstanceOf(Iso8583Error);
          }
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });
});
