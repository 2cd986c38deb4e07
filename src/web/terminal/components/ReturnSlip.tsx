import { useRef, useState } from 'preact/hooks';
import type { Lang, ReturnInfo } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { type MerchantInfo, useApp } from '../app-context';
import { type T, translate, useI18n } from '../i18n';
import { type PaperWidth, PrintDialog, usePaperWidth } from './Receipt';

/** Text and double-quoted attribute contexts, the only two the slip uses; item names are typed by people. */
const escapeHtml = (value: string): string =>
  value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface SlipInput {
  merchant: MerchantInfo;
  ret: ReturnInfo;
  qrPng: string;
  width: PaperWidth;
  lang: Lang;
  t: T;
}

/**
 * The return slip (退货单) for the receipt printer: merchant, order, the lines, the amount, the QR
 * and until when it works, laid out like the API's refund voucher (58 / 80 mm roll, `@page` sized to
 * it). Made here because the QR's image is only in the answer that created the return.
 */
export function returnSlipHtml({ merchant, ret, qrPng, width, lang, t }: SlipInput): string {
  if (!BASE64.test(qrPng)) throw new Error('the return QR is not base64');
  const printable = width === '58' ? 48 : 72;
  // `label` is HTML already: a field's ends in a colon, a line's (name × qty) does not.
  const row = (label: string, value: string, cls = '') =>
    `<div class="field${cls}"><span>${label}</span> <span class="value">${escapeHtml(value)}</span></div>`;
  const field = (label: string, value: string, cls = '') => row(`${escapeHtml(label)}:`, value, cls);
  const lines = ret.items.map((i) => row(escapeHtml(`${i.name} × ${i.qty}`), formatFen(i.amount))).join('\n');
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<title>${escapeHtml(t('stepQr'))} ${escapeHtml(ret.id)}</title>
<style>
@page { size: ${width}mm auto; margin: 0; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #fff; color: #000; }
body { width: ${printable}mm; margin: 0 auto; padding: 3mm 0; font: 9pt/1.35 "Noto Sans Mono CJK SC", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", monospace; }
h1 { font-size: 12pt; text-align: center; margin: 0 0 1mm; }
hr { border: 0; border-top: 1px dashed #000; margin: 1.5mm 0; }
.field { display: flex; justify-content: space-between; flex-wrap: wrap; gap: 0 2mm; }
.field .value { margin-left: auto; text-align: right; overflow-wrap: anywhere; }
.amount { font-weight: bold; font-size: 10pt; }
.qr { margin: 2mm auto; text-align: center; }
.qr img { width: ${width === '58' ? 40 : 52}mm; height: auto; display: block; margin: 0 auto; image-rendering: pixelated; }
.qr figcaption { font-size: 8pt; }
@media screen { body { box-shadow: 0 0 4px #999; padding: 3mm; width: ${printable + 6}mm; margin: 4mm auto; } }
</style>
</head>
<body class="paper-${width}">
<h1>${escapeHtml(merchant.name || t('appName'))}</h1>
<h1>${escapeHtml(t('returns'))}</h1>
<hr>
${field(t('orderNo'), ret.orderNo)}
${field(t('terminal'), ret.terminalId ?? '—')}
<hr>
${lines}
<hr>
${field(t('refundAmount'), formatFen(ret.amount), ' amount')}
<figure class="qr"><img alt="${escapeHtml(t('stepQr'))}" src="data:image/png;base64,${qrPng}"><figcaption>${escapeHtml(t('slipScan'))}</figcaption></figure>
${field(t('returnExpiresAt'), formatDateTime(ret.expiresAt, merchant.timeZone, lang))}
</body>
</html>
`;
}

/** The slip shown as it will print, printed once on opening and again on 再次打印. */
export function ReturnSlipDialog({
  ret,
  qrPng,
  onClose,
}: {
  ret: ReturnInfo;
  qrPng: string;
  onClose: () => void;
}) {
  const { merchant } = useApp();
  const { t, lang } = useI18n();
  // The slip's language is the terminal's when it was asked for: switching later prints nothing.
  const slipLang = useRef(lang).current;
  const [width, setWidth] = usePaperWidth();
  const [round, setRound] = useState(0);
  const slipT: T = (key, vars) => translate(slipLang, key, vars);
  let html: string | null = null;
  let error: unknown = null;
  try {
    html = returnSlipHtml({ merchant, ret, qrPng, width, lang: slipLang, t: slipT });
  } catch (err) {
    error = err;
  }
  return (
    <PrintDialog
      title={t('returnPrint')}
      width={width}
      onWidth={setWidth}
      html={html}
      error={error}
      unavailable={t('receiptUnavailable')}
      onAgain={() => setRound(round + 1)}
      frameKey={round}
      onClose={onClose}
      testId="return-slip"
    />
  );
}
