import { columnsOf, displayWidth, layout, type PaperWidth, wrap } from './layout.js';
import type { ReceiptModel } from './model.js';

/**
 * The voucher as plain text for a monospace font: 32 columns (58 mm) or 48 (80 mm), Chinese
 * characters counted as two columns so the amounts line up on the right edge.
 */
export function renderText(model: ReceiptModel, width: PaperWidth = 58): string {
  const columns = columnsOf[width];
  const lines = layout(model, columns).flatMap((line) => {
    // Plain text has no QR code; its payload (the status link, or the refund number) is printed instead.
    if (line.kind === 'qr') return wrap(line.payload, columns).map((t) => centre(t, columns));
    return [line.align === 'center' ? centre(line.text, columns) : line.text];
  });
  return `${lines.join('\n')}\n`;
}

function centre(text: string, columns: number): string {
  const left = Math.max(0, Math.floor((columns - displayWidth(text)) / 2));
  return `${' '.repeat(left)}${text}`;
}
