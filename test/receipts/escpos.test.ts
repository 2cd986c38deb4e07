import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { printerCells, renderEscPos } from '../../src/receipts/escpos.js';
import { displayWidth } from '../../src/receipts/layout.js';
import { decodeEscPos } from './escpos-decode.js';
import { sampleModel } from './fixtures.js';

const REFUND_ID = 're_01JRECEIPTTEST000000000001';

describe('ESC/POS voucher, decoded back', () => {
  const bytes = renderEscPos(sampleModel({ reprint: true }), 58);
  const decoded = decodeEscPos(bytes);
  const text = decoded.lines.join('\n');
  const names = decoded.commands.map((c) => c.name);

  it('initialises the printer and switches to Chinese mode before any text', () => {
    expect([...bytes.slice(0, 2)]).toEqual([0x1b, 0x40]);
    const chinese = decoded.commands.find((c) => c.name === 'FS &');
    expect(chinese?.line).toBe(0);
    expect(names.indexOf('FS &')).toBeGreaterThan(names.lastIndexOf('FS .'));
  });

  it('prints the Chinese labels and the amounts, encoded as GB18030', () => {
    for (const label of [
      '退款凭证',
      '退款金额',
      '实际应退金额',
      '手续费',
      '持卡人签名',
      '商户名称',
      '终端编号',
      '操作员',
    ]) {
      expect(text).toContain(label);
    }
    // The yen sign goes to the printer as the fullwidth ￥ (GBK A3A4).
    for (const amount of ['￥123.45', '￥1.00', '￥122.45']) expect(text).toContain(amount);
    expect(text).toContain('重打印 / REPRINT');
    expect(text).toContain('622202******1234');
    expect(text).toContain('商品存在质量问题');
    const gbk = iconv.encode('实际应退金额', 'gb18030');
    expect(Buffer.from(bytes).includes(gbk)).toBe(true);
    expect(Buffer.from(bytes).includes(Buffer.from('实际应退金额', 'utf8'))).toBe(false);
  });

  it('prints the amounts in bold and the title centred', () => {
    for (const amount of ['￥123.45', '￥1.00', '￥122.45']) {
      const at = decoded.lines.findIndex((l) => l.endsWith(amount));
      expect(at, amount).toBeGreaterThan(0);
      expect(decoded.boldLines.has(at), amount).toBe(true);
    }
    expect(decoded.boldLines.has(decoded.lines.findIndex((l) => l.startsWith('商户编号')))).toBe(false);
    const title = decoded.lines.indexOf('退款凭证 REFUND VOUCHER');
    expect(decoded.centredLines.has(title)).toBe(true);
  });

  it('keeps every line within the 32 printer columns of 58 mm paper', () => {
    for (const line of decoded.lines) expect(displayWidth(line, printerCells), line).toBeLessThanOrEqual(32);
    const wide = decodeEscPos(renderEscPos(sampleModel(), 80));
    expect(wide.lines.some((l) => displayWidth(l, printerCells) === 48)).toBe(true);
    for (const line of wide.lines) expect(displayWidth(line, printerCells), line).toBeLessThanOrEqual(48);
  });

  it('prints the refund number as a QR code with GS ( k', () => {
    expect(decoded.qrPayloads).toEqual([REFUND_ID]);
    const qr = decoded.commands.filter((c) => c.name === 'GS ( k');
    // model 2, module size, error level, store data, print.
    expect(qr.map((c) => c.bytes.slice(5, 7))).toEqual([
      [0x31, 0x41],
      [0x31, 0x43],
      [0x31, 0x45],
      [0x31, 0x50],
      [0x31, 0x51],
    ]);
  });

  it('ends with the paper cut, after the signature line', () => {
    const last = decoded.commands[decoded.commands.length - 1];
    expect(last?.name).toBe('GS V');
    // Only line feeds may follow the cut.
    const cutAt = Buffer.from(bytes).lastIndexOf(Buffer.from([0x1d, 0x56]));
    expect([...bytes.slice(cutAt + 3)].every((b) => b === 0x0a)).toBe(true);
    const signature = decoded.lines.findIndex((l) => l.startsWith('持卡人签名'));
    expect(signature).toBeGreaterThan(0);
    expect(last?.line).toBeGreaterThan(signature);
  });

  it('never lets a note smuggle printer commands (ESC p opens the cash drawer)', () => {
    const evil = renderEscPos(
      sampleModel({}, { reason: { code: 'other', note: 'ok\x1bp\x00\x19\xfa\x1dV\x00' } }),
      58,
    );
    const d = decodeEscPos(evil);
    expect(d.commands.map((c) => c.name)).not.toContain('ESC p');
    expect(d.commands.filter((c) => c.name === 'GS V')).toHaveLength(1);
    expect(d.lines.join('\n')).toContain('其它：ok p ú V');
  });

  it('prints Traditional Chinese too', () => {
    const tw = decodeEscPos(renderEscPos(sampleModel({ lang: 'zh-TW' }), 80)).lines.join('\n');
    expect(tw).toContain('實際應退金額');
    expect(tw).toContain('持卡人簽名');
  });
});
