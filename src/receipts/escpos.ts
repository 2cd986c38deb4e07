import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import iconv from 'iconv-lite';
import { invariant } from '../domain/errors.js';
import { type CellWidth, columnsOf, layout, type PaperWidth } from './layout.js';
import type { ReceiptModel } from './model.js';

/**
 * The voucher as ESC/POS bytes for a Chinese thermal printer.
 *
 * Commands (initialise, bold, the QR code as GS ( k, cut) come from @point-of-sale/receipt-printer-encoder,
 * the maintained successor of esc-pos-encoder. Its text encoder only knows single-byte code pages
 * (cp437, cp936 is not among them) and has no GB18030/GBK, so the text is encoded here with
 * iconv-lite as GB18030 and handed to the encoder as raw bytes, after switching the printer to
 * Chinese (double-byte) mode with FS &. Chinese printers take GBK, and GB18030 is GBK for every
 * character a voucher prints.
 *
 * Because the encoder cannot measure raw bytes, the lines are laid out here at the printer's
 * column count and centred lines use the printer's own alignment (ESC a).
 */

const ESC = 0x1b;
const FS = 0x1c;
const LF = 0x0a;
/** FS &: select Chinese character mode (the encoder's initialise leaves it with FS .). */
export const CHINESE_MODE_ON = [FS, 0x26] as const;
const alignCommand = (align: 'left' | 'center') => [ESC, 0x61, align === 'center' ? 1 : 0];

/**
 * In Chinese mode a printer prints every multi-byte GB character two columns wide and every single
 * byte (ASCII) one column wide, whatever Unicode says about the character.
 */
export const printerCells: CellWidth = (cp) => (cp < 0x80 ? 1 : 2);

/**
 * U+00A5 ¥ has no two-byte GBK code (GB18030 gives it four bytes, which GBK printer fonts lack);
 * the fullwidth ￥ (A3A4) is what Chinese printers and slips use.
 */
export function toPrinterText(text: string): string {
  return text.replaceAll('¥', '￥');
}

export function encodeGb18030(text: string): Uint8Array {
  const bytes = iconv.encode(toPrinterText(text), 'gb18030');
  // Text must never carry a command: model.printable() removed control characters from free text.
  invariant(
    bytes.every((b) => b >= 0x20),
    'voucher text has no control bytes',
  );
  return bytes;
}

export function renderEscPos(model: ReceiptModel, width: PaperWidth = 58): Uint8Array {
  const columns = columnsOf[width];
  const encoder = new ReceiptPrinterEncoder({
    language: 'esc-pos',
    columns,
    newline: '\n',
    feedBeforeCut: 4,
    errors: 'strict',
  });
  encoder.initialize().raw([...CHINESE_MODE_ON]);
  for (const line of layout(model, columns, printerCells)) {
    if (line.kind === 'qr') {
      encoder
        .align('center')
        .qrcode(line.payload, { model: 2, size: width === 58 ? 5 : 6, errorlevel: 'm' })
        .align('left');
      continue;
    }
    const text = encodeGb18030(line.text);
    if (line.align === 'center') encoder.raw(alignCommand('center'));
    if (line.bold) encoder.bold(true);
    encoder.raw([...text, LF]);
    if (line.bold) encoder.bold(false);
    if (line.align === 'center') encoder.raw(alignCommand('left'));
  }
  return encoder.cut('partial').encode();
}
