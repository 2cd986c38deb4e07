import type { PaperWidth } from './layout.js';
import type { ReceiptLine, ReceiptModel } from './model.js';

/**
 * The voucher as a printable page for 58 mm or 80 mm paper (`@page` sized to the roll), with the
 * QR code as inline SVG from the `qrcode` package. Every value is HTML-escaped: the reason note is
 * free text typed by a person.
 */

// Five replacements cover text and double-quoted attribute contexts, the only two used here.
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const htmlLang = { 'zh-CN': 'zh-CN', 'zh-TW': 'zh-TW', en: 'en' } as const;

async function lineHtml(line: ReceiptLine): Promise<string> {
  switch (line.kind) {
    case 'title':
      return `<h1>${escapeHtml(line.text)}</h1>`;
    case 'notice':
      return `<p class="notice">${escapeHtml(line.text)}</p>`;
    case 'rule':
      return '<hr>';
    case 'field':
      return `<div class="field${line.emphasis ? ' amount' : ''}" data-key="${escapeHtml(line.key)}"><span class="label">${escapeHtml(line.label)}:</span> <span class="value">${escapeHtml(line.value)}</span></div>`;
    case 'qr': {
      // Loaded with the first voucher that shows a code, not at start (server memory, issue 10).
      const { default: QRCode } = await import('qrcode');
      const svg = await QRCode.toString(line.payload, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return `<figure class="qr" data-payload="${escapeHtml(line.payload)}">${svg}<figcaption>${escapeHtml(line.caption)}</figcaption></figure>`;
    }
    case 'signature':
      return `<div class="signature"><span class="label">${escapeHtml(line.label)}:</span><div class="sign-here"></div></div>`;
    case 'text':
      return `<p class="small">${escapeHtml(line.text)}</p>`;
  }
}

export async function renderHtml(model: ReceiptModel, width: PaperWidth = 58): Promise<string> {
  const body = (await Promise.all(model.lines.map(lineHtml))).join('\n');
  const title = model.lines.find((l) => l.kind === 'title');
  // 58 mm paper prints about 48 mm wide, 80 mm about 72 mm: keep the content inside that.
  const printable = width === 58 ? 48 : 72;
  return `<!doctype html>
<html lang="${htmlLang[model.lang]}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title?.kind === 'title' ? title.text : 'Refund voucher')} ${escapeHtml(model.refundId)}</title>
<style>
@page { size: ${width}mm auto; margin: 0; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #fff; color: #000; }
body { width: ${printable}mm; margin: 0 auto; padding: 3mm 0; font: 9pt/1.35 "Noto Sans Mono CJK SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", monospace; }
h1 { font-size: 12pt; text-align: center; margin: 0 0 1mm; }
.notice { text-align: center; font-weight: bold; border: 1px solid #000; margin: 1mm 0; padding: 0.5mm; }
hr { border: 0; border-top: 1px dashed #000; margin: 1.5mm 0; }
.field { display: flex; justify-content: space-between; flex-wrap: wrap; gap: 0 2mm; }
.field .value { margin-left: auto; text-align: right; overflow-wrap: anywhere; }
.amount { font-weight: bold; font-size: 10pt; }
.qr { margin: 2mm auto; text-align: center; }
.qr svg { width: ${width === 58 ? 28 : 36}mm; height: auto; display: block; margin: 0 auto; }
.qr figcaption { font-size: 8pt; }
.signature { margin-top: 3mm; }
.sign-here { height: 12mm; border-bottom: 1px solid #000; }
.small { font-size: 8pt; margin: 1mm 0; }
@media screen { body { box-shadow: 0 0 4px #999; padding: 3mm; width: ${printable + 6}mm; margin: 4mm auto; } }
</style>
</head>
<body class="paper-${width}">
${body}
</body>
</html>
`;
}
