import { eastAsianWidth } from 'get-east-asian-width';
import { invariant } from '../domain/errors.js';
import type { ReceiptModel } from './model.js';

/**
 * Fixed-width layout of the voucher for paper rolls: 32 columns on 58 mm, 48 on 80 mm (font A,
 * 12×24 dots). A Chinese character takes two columns, so every measure goes through a width
 * function: East Asian Width for plain text, the printer's own rule for ESC/POS.
 */

export const paperWidths = [58, 80] as const;
export type PaperWidth = (typeof paperWidths)[number];

export const columnsOf: Readonly<Record<PaperWidth, number>> = { 58: 32, 80: 48 };

/** Columns one code point takes. */
export type CellWidth = (codePoint: number) => number;

/** Unicode East Asian Width (UAX #11): wide and fullwidth take two columns, ambiguous one. */
export const eastAsianCells: CellWidth = (cp) => eastAsianWidth(cp);

export function displayWidth(text: string, cells: CellWidth = eastAsianCells): number {
  let width = 0;
  for (const ch of text) width += cells(ch.codePointAt(0) ?? 0);
  return width;
}

export type LaidLine =
  | { kind: 'text'; text: string; align: 'left' | 'center'; bold: boolean }
  | { kind: 'qr'; payload: string };

/**
 * Break `text` into lines of at most `columns`, by character (Chinese has no spaces), moving a
 * Latin word that would be cut to the next line when the line has a space to break at.
 */
export function wrap(text: string, columns: number, cells: CellWidth = eastAsianCells): string[] {
  invariant(columns >= 8, 'at least 8 columns');
  const lines: string[] = [];
  let line = '';
  let width = 0;
  for (const ch of text) {
    const w = cells(ch.codePointAt(0) ?? 0);
    if (width + w > columns) {
      let carry = '';
      const space = line.lastIndexOf(' ');
      if (/\w/.test(ch) && /\w$/.test(line) && space > 0) {
        const tail = line.slice(space + 1);
        if (displayWidth(tail, cells) + w <= columns) {
          carry = tail;
          line = line.slice(0, space);
        }
      }
      lines.push(line);
      line = carry;
      width = displayWidth(carry, cells);
      if (ch === ' ' && line === '') continue;
    }
    line += ch;
    width += w;
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines.map((l) => l.trimEnd());
}

/** `left` then `right` on one line, `right` flush with the right edge. */
export function spread(left: string, right: string, columns: number, cells: CellWidth = eastAsianCells) {
  const gap = columns - displayWidth(left, cells) - displayWidth(right, cells);
  invariant(gap >= 1, 'spread line fits');
  return `${left}${' '.repeat(gap)}${right}`;
}

/** A bilingual line (`持卡人签名 / CARDHOLDER SIGNATURE`) too wide for the paper: one language a line. */
export function wrapBilingual(text: string, columns: number, cells: CellWidth = eastAsianCells): string[] {
  if (displayWidth(text, cells) <= columns) return [text];
  return text.split(' / ').flatMap((part) => wrap(part, columns, cells));
}

export function layout(model: ReceiptModel, columns: number, cells: CellWidth = eastAsianCells): LaidLine[] {
  const out: LaidLine[] = [];
  const text = (t: string, align: 'left' | 'center' = 'left', bold = false) =>
    out.push({ kind: 'text', text: t, align, bold });
  for (const line of model.lines) {
    switch (line.kind) {
      case 'title':
      case 'notice':
        for (const t of wrapBilingual(line.text, columns, cells)) text(t, 'center', true);
        break;
      case 'rule':
        text('-'.repeat(columns));
        break;
      case 'field': {
        const head = `${line.label}:`;
        if (displayWidth(head, cells) + 1 + displayWidth(line.value, cells) <= columns) {
          text(spread(head, line.value, columns, cells), 'left', line.emphasis);
          break;
        }
        for (const t of wrap(head, columns, cells)) text(t);
        const values = wrap(line.value, columns, cells);
        // A value that fits one line sits on the right, as on the slips; a long one reads left to right.
        if (values.length === 1) {
          const only = values[0] ?? '';
          text(' '.repeat(columns - displayWidth(only, cells)) + only, 'left', line.emphasis);
        } else {
          for (const t of values) text(t, 'left', line.emphasis);
        }
        break;
      }
      case 'qr':
        out.push({ kind: 'qr', payload: line.payload });
        for (const t of wrapBilingual(line.caption, columns, cells)) text(t, 'center');
        break;
      case 'signature':
        text('');
        for (const t of wrapBilingual(line.label, columns, cells)) text(t);
        text('');
        text('');
        text('_'.repeat(columns));
        break;
      case 'text':
        for (const t of wrapBilingual(line.text, columns, cells)) text(t);
        break;
    }
  }
  return out;
}
