/**
 * Messages published by other ISO 8583 implementations (jsPOS, pyiso8583, a UnionPay jPOS packager,
 * UnionPay terminal code; sources in fixtures/published.json) decode to the fields their sources
 * state, and encode back to the very same bytes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, encode, hexOf, type IsoMessage } from '../../../src/network/iso8583/codec.js';
import type { Dialect } from '../../../src/network/iso8583/fields.js';
import { FrameDecoder } from '../../../src/network/iso8583/framing.js';

interface Fixture {
  id: string;
  dialect: Dialect;
  hex?: string;
  ascii?: string;
  framed?: boolean;
  expected?: IsoMessage;
  expectedError?: { code: string; field: number | string; offset: number };
  expectedFrame?: { tpdu: string; header: string; messageBytes: number };
}

const fixtures: Fixture[] = JSON.parse(
  readFileSync(new URL('./fixtures/published.json', import.meta.url), 'utf8'),
).fixtures;

function bytesOf(f: Fixture): Buffer {
  if (f.ascii !== undefined) return Buffer.from(f.ascii, 'latin1');
  return Buffer.from(f.hex ?? '', 'hex');
}

/** The message bytes: framed fixtures go through the stream decoder first. */
function messageOf(f: Fixture): Buffer {
  if (!f.framed) return bytesOf(f);
  const { frames, error } = new FrameDecoder({ header: f.dialect === 'cup' }).push(bytesOf(f));
  expect(error).toBeNull();
  expect(frames).toHaveLength(1);
  const [only] = frames;
  if (only === undefined) throw new Error('no frame');
  expect({ tpdu: only.tpdu, header: only.header, messageBytes: only.message.length }).toEqual(
    f.expectedFrame,
  );
  return only.message;
}

describe('published ISO 8583 samples', () => {
  it('covers both dialects with at least three decodable samples', () => {
    const decodable = fixtures.filter((f) => f.expected !== undefined);
    expect(decodable.length).toBeGreaterThanOrEqual(3);
    expect(new Set(decodable.map((f) => f.dialect))).toEqual(new Set(['cup', 'ascii87']));
  });

  for (const f of fixtures.filter((x) => x.expected !== undefined)) {
    it(`decodes ${f.id} to the fields its source states`, () => {
      const result = decode(messageOf(f), f.dialect);
      expect(result).toEqual({ ok: true, message: f.expected });
    });

    it(`encodes ${f.id} back to the published bytes`, () => {
      expect(hexOf(encode(f.expected as IsoMessage, f.dialect))).toBe(hexOf(messageOf(f)));
    });
  }

  for (const f of fixtures.filter((x) => x.expectedError !== undefined)) {
    it(`rejects ${f.id} with a typed error naming the field and offset`, () => {
      const result = decode(messageOf(f), f.dialect);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatchObject(f.expectedError ?? {});
    });
  }
});
