/** The order timeline's rules (domain/timeline.ts): order, cap, answer MTIs and response codes in words. */
import { describe, expect, it } from 'vitest';
import { outcomeFor } from '../../src/domain/outcomes.js';
import {
  answerMti,
  MAX_TIMELINE_ENTRIES,
  orderTimeline,
  responseTextOf,
  type TimelineEntry,
  timelineTitles,
} from '../../src/domain/timeline.js';

const entry = (at: string, title: TimelineEntry['title'] = 'refund.created'): TimelineEntry => ({
  at,
  kind: 'refund',
  title,
});

describe('the order timeline', () => {
  it('runs oldest first, keeping entries of one instant in the order they were given', () => {
    const t = '2026-03-10T04:00:00.000Z';
    const { entries, truncated } = orderTimeline([
      entry('2026-03-10T05:00:00.000Z', 'refund.succeeded'),
      entry(t, 'order.adjusted'),
      entry(t, 'refund.created'),
      entry('2026-03-10T03:59:59.999Z', 'sale.captured'),
    ]);
    expect(entries.map((e) => e.title)).toEqual([
      'sale.captured',
      'order.adjusted',
      'refund.created',
      'refund.succeeded',
    ]);
    expect(truncated).toBe(false);
  });

  it(`shows the oldest ${MAX_TIMELINE_ENTRIES} entries of a longer history and says it was cut`, () => {
    const many = Array.from({ length: MAX_TIMELINE_ENTRIES + 3 }, (_, i) =>
      entry(new Date(Date.UTC(2026, 2, 10) + (MAX_TIMELINE_ENTRIES + 3 - i) * 1000).toISOString()),
    );
    const { entries, truncated } = orderTimeline(many);
    expect(entries).toHaveLength(MAX_TIMELINE_ENTRIES);
    expect(truncated).toBe(true);
    // Given newest first, 1 s … 503 s after midnight: the three newest are the ones cut.
    expect(entries[0]?.at).toBe(new Date(Date.UTC(2026, 2, 10) + 1000).toISOString());
    expect(entries.at(-1)?.at).toBe(
      new Date(Date.UTC(2026, 2, 10) + MAX_TIMELINE_ENTRIES * 1000).toISOString(),
    );
    const exactly = orderTimeline(many.slice(0, MAX_TIMELINE_ENTRIES));
    expect(exactly.truncated).toBe(false);
  });

  it('has one title per event, each a dotted code', () => {
    expect(new Set(timelineTitles).size).toBe(timelineTitles.length);
    for (const t of timelineTitles) expect(t).toMatch(/^[a-z_]+(\.[a-z_]+)+$/);
    expect(timelineTitles).toContain('refund.approved');
    expect(timelineTitles).toContain('network.refund.declined');
  });
});

describe('network messages in words', () => {
  it("answers a request's MTI with the function digit raised by one", () => {
    expect(answerMti('0200')).toBe('0210');
    expect(answerMti('0220')).toBe('0230');
    expect(answerMti('0400')).toBe('0410');
    expect(answerMti('0290')).toBeUndefined();
    expect(answerMti('02x0')).toBeUndefined();
  });

  it('says a refund code as the response code catalogue does, in every language', () => {
    expect(responseTextOf('91', { type: 'refund' })).toEqual(outcomeFor('91').message);
    expect(responseTextOf('00', { type: 'refund' })).toEqual(outcomeFor('00').message);
    expect(responseTextOf('91', { type: 'sale' })).toEqual(outcomeFor('91').message);
    expect(responseTextOf('Z9', { type: 'void' }).en).toContain('Z9');
  });

  it('does not call an approved sale, void or reversal a refund', () => {
    for (const type of ['sale', 'void'] as const) {
      const text = responseTextOf('00', { type });
      expect(text.en).toBe('Approved by the network.');
      expect(text['zh-CN']).not.toContain('退款');
    }
    const reversal = responseTextOf('00', { type: 'refund', reversal: true });
    expect(reversal.en).toMatch(/^Reversal acknowledged/);
    expect(reversal['zh-TW']).toMatch(/^沖正成功/);
  });
});
