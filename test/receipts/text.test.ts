import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayWidth, wrap } from '../../src/receipts/layout.js';
import { receiptLanguages } from '../../src/receipts/model.js';
import { renderText } from '../../src/receipts/text.js';
import { sampleModel } from './fixtures.js';

const longNote = `顾客说茶叶受潮，已退回 2 盒。Customer said the tea was damp; returned two boxes. ${'很长的备注'.repeat(8)}`;

describe('plain-text voucher', () => {
  it('counts Chinese characters as two columns and Latin ones as one', () => {
    expect(displayWidth('退款金额')).toBe(8);
    expect(displayWidth('¥12.34')).toBe(6);
    expect(displayWidth('实际应退金额(NET REFUND):')).toBe(25);
    expect(displayWidth('（全角）')).toBe(8);
  });

  for (const [width, columns] of [
    [58, 32],
    [80, 48],
  ] as const) {
    it(`keeps every line within ${columns} columns on ${width} mm paper, in every language`, () => {
      for (const lang of receiptLanguages) {
        const text = renderText(
          sampleModel({ lang, reprint: true }, { reason: { code: 'other', note: longNote } }),
          width,
        );
        const lines = text.trimEnd().split('\n');
        expect(lines.length).toBeGreaterThan(20);
        for (const line of lines) expect(displayWidth(line), line).toBeLessThanOrEqual(columns);
      }
    });

    it(`puts the amounts flush with the right edge at ${columns} columns`, () => {
      const lines = renderText(sampleModel(), width).split('\n');
      for (const amount of ['¥123.45', '¥1.00', '¥122.45']) {
        const line = lines.find((l) => l.endsWith(amount));
        expect(line, amount).toBeDefined();
        expect(displayWidth(line ?? '')).toBe(columns);
      }
      const net =
        columns === 48
          ? `实际应退金额(NET REFUND):${' '.repeat(48 - 25 - 7)}¥122.45`
          : `${' '.repeat(32 - 7)}¥122.45`;
      expect(lines).toContain(net);
    });
  }

  it('centres the title by display width, not by character count', () => {
    const first = renderText(sampleModel(), 58).split('\n')[0] ?? '';
    // 退款凭证 REFUND VOUCHER is 23 columns wide: (32 − 23) / 2 = 4 spaces before it.
    expect(first).toBe('    退款凭证 REFUND VOUCHER');
  });

  it('marks only reprints', () => {
    expect(renderText(sampleModel({ reprint: false }))).not.toContain('REPRINT');
    expect(renderText(sampleModel({ reprint: true }))).toContain('重打印 / REPRINT');
  });

  it('shows the masked card and never more of it', () => {
    const text = renderText(sampleModel());
    expect(text).toContain('622202******1234');
    expect(text).not.toMatch(/\d{7,}\*/);
  });

  it('wraps any mix of Chinese and Latin text within the columns, losing no character', () => {
    const chars = fc.constantFrom(...'退款金额实际应退手续费abcdefgXYZ0123456789 .,:/-￥¥'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 200 }), fc.constantFrom(32, 48), (list, columns) => {
        const text = list.join('');
        const lines = wrap(text, columns);
        for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(columns);
        expect(lines.join('').replaceAll(' ', '')).toBe(text.replaceAll(' ', ''));
      }),
    );
  });
});
