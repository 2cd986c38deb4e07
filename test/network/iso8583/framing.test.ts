import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesFromHex, hexOf } from '../../../src/network/iso8583/codec.js';
import {
  cupHeader,
  type Frame,
  FrameDecoder,
  frame,
  MAX_FRAME_BYTES,
  parseCupHeader,
  responseTpdu,
} from '../../../src/network/iso8583/framing.js';
import { thrown } from './support.js';

const SIGN_IN = bytesFromHex(
  '08000020000000C00012000105303030303037363438343831303030353831323630303200110000000100300003303031',
);

describe('frame', () => {
  it('prefixes the big-endian length of TPDU, header and message', () => {
    const bytes = frame(SIGN_IN, { tpdu: '6000030000', header: '603100310000' });
    expect(hexOf(bytes.subarray(0, 13))).toBe('003C6000030000603100310000');
    expect(bytes.subarray(13)).toEqual(SIGN_IN);
    expect(bytes.readUInt16BE(0)).toBe(bytes.length - 2);
  });

  it('omits the header when none is given (ascii87)', () => {
    const bytes = frame(Buffer.from('0800'), { tpdu: '6000030000' });
    expect(hexOf(bytes)).toBe('0009600003000030383030');
  });

  it('refuses a bad TPDU or header, an empty message and frames over the limit', () => {
    expect(thrown(() => frame(SIGN_IN, { tpdu: '7000030000' })).code).toBe('bad_tpdu');
    expect(thrown(() => frame(SIGN_IN, { tpdu: '600003' })).code).toBe('bad_tpdu');
    expect(thrown(() => frame(SIGN_IN, { tpdu: '6000030000', header: '6031' })).code).toBe('bad_header');
    expect(thrown(() => frame(Buffer.alloc(0), { tpdu: '6000030000' })).code).toBe('frame_too_short');
    const biggest = Buffer.alloc(MAX_FRAME_BYTES - 5 - 6, 0x30);
    expect(frame(biggest, { tpdu: '6000030000', header: '603100310000' })).toHaveLength(MAX_FRAME_BYTES + 2);
    const tooBig = Buffer.alloc(MAX_FRAME_BYTES - 5 - 6 + 1, 0x30);
    expect(thrown(() => frame(tooBig, { tpdu: '6000030000', header: '603100310000' })).code).toBe(
      'frame_too_large',
    );
  });

  it('swaps TPDU addresses for the answer', () => {
    expect(responseTpdu('6000031234')).toBe('6012340003');
  });

  it('builds and parses the cup message header', () => {
    const header = {
      applicationType: 0x60,
      version: 0x31,
      terminalStatus: 0,
      processingRequirement: 3,
      reserved: '310000',
    };
    expect(cupHeader(header)).toBe('603103310000');
    expect(parseCupHeader('603103310000')).toEqual(header);
    expect(thrown(() => cupHeader({ ...header, terminalStatus: 16 })).code).toBe('bad_header');
  });
});

describe('FrameDecoder', () => {
  const tpduArb = fc.stringMatching(/^60[0-9A-F]{8}$/);
  const headerArb = fc.stringMatching(/^[0-9A-F]{12}$/);
  const messageArb = fc.uint8Array({ minLength: 1, maxLength: 600 }).map((a) => Buffer.from(a));

  it('reassembles frames from any split or coalescing of the stream', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(tpduArb, headerArb, messageArb), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (withHeader, items, cuts) => {
          const expected: Frame[] = items.map(([tpdu, header, message]) => ({
            tpdu,
            header: withHeader ? header : null,
            message,
          }));
          const stream = Buffer.concat(
            items.map(([tpdu, header, message]) =>
              frame(message, { tpdu, header: withHeader ? header : undefined }),
            ),
          );
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points, stream.length]
            .slice(1)
            .map((end, i, ends) => stream.subarray(i === 0 ? 0 : (ends[i - 1] ?? 0), end));

          const decoder = new FrameDecoder({ header: withHeader });
          const frames: Frame[] = [];
          for (const chunk of chunks) {
            const { frames: out, error } = decoder.push(chunk);
            expect(error).toBeNull();
            frames.push(...out);
          }
          expect(frames).toEqual(expected);
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('waits for the rest of a split frame', () => {
    const bytes = frame(SIGN_IN, { tpdu: '6000030000', header: '603100310000' });
    const decoder = new FrameDecoder({ header: true });
    expect(decoder.push(bytes.subarray(0, 1))).toEqual({ frames: [], error: null });
    expect(decoder.push(bytes.subarray(1, 20))).toEqual({ frames: [], error: null });
    expect(decoder.pendingBytes).toBe(20);
    const { frames } = decoder.push(bytes.subarray(20));
    expect(frames.map((f) => f.message)).toEqual([SIGN_IN]);
  });

  it('refuses a frame over 8192 bytes as soon as its length arrives, and stays stopped', () => {
    const decoder = new FrameDecoder({ header: true });
    const good = frame(SIGN_IN, { tpdu: '6000030000', header: '603100310000' });
    const result = decoder.push(Buffer.concat([good, Buffer.from([0x20, 0x01])]));
    expect(result.frames).toHaveLength(1);
    expect(result.error).toMatchObject({ code: 'frame_too_large', offset: good.length });
    expect(decoder.push(good)).toEqual({ frames: [], error: result.error });
  });

  it('refuses frames too short for their TPDU and header, and TPDUs not starting with 0x60', () => {
    expect(
      new FrameDecoder({ header: true }).push(Buffer.from('000B600003000060310031', 'hex')).error,
    ).toMatchObject({
      code: 'frame_too_short',
      offset: 0,
    });
    expect(
      new FrameDecoder({ header: false }).push(Buffer.from('0006700003000030', 'hex')).error,
    ).toMatchObject({
      code: 'bad_tpdu',
      offset: 2,
    });
  });

  it('honours a lower limit', () => {
    const decoder = new FrameDecoder({ header: false, maxFrameBytes: 16 });
    expect(decoder.push(frame(Buffer.alloc(12, 0x30), { tpdu: '6000030000' })).error?.code).toBe(
      'frame_too_large',
    );
  });
});
