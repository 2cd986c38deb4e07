import { describe, expect, it } from 'vitest';
import {
  maskCard,
  printable,
  type ReceiptLine,
  reasonLabels,
  shanghaiDateTime,
} from '../../src/receipts/model.js';
import { sampleModel } from './fixtures.js';

type Field = Extract<ReceiptLine, { kind: 'field' }>;
const fields = (lines: ReceiptLine[]) =>
  Object.fromEntries(lines.filter((l): l is Field => l.kind === 'field').map((l) => [l.key, l]));

describe('refund voucher model', () => {
  it('lists the slip fields with bilingual labels, like a UnionPay POS slip', () => {
    const f = fields(sampleModel({ trace: { sale: '000012', refund: '000013' } }).lines);
    expect(f.merchant_name).toMatchObject({
      label: '商户名称(MERCHANT NAME)',
      value: '示例便利店 Demo Mart',
    });
    expect(f.merchant_no).toMatchObject({ label: '商户编号(MERCHANT NO.)', value: '898100000000001' });
    expect(f.terminal_no?.value).toBe('T0000001');
    expect(f.operator_no).toMatchObject({ label: '操作员(OPERATOR NO.)', value: '01' });
    expect(f.trans_type?.value).toBe('退货/REFUND');
    expect(f.orig_voucher_no?.value).toBe('000012');
    expect(f.orig_ref_no).toMatchObject({ label: '原参考号(ORIG REF NO.)', value: '250301000007' });
    expect(f.voucher_no?.value).toBe('000013');
    expect(f.ref_no?.value).toBe('250303000042');
    expect(f.refund_no?.value).toBe('re_01JRECEIPTTEST000000000001');
    expect(f.status?.value).toBe('已退款/REFUNDED');
    expect(f.expected_arrival).toMatchObject({ label: '预计到账(EXPECTED ARRIVAL)', value: '2025-03-05' });
  });

  it('formats amount, fee and net amount as yuan from integer fen, and emphasises them', () => {
    const f = fields(sampleModel().lines);
    expect(f.amount).toMatchObject({ label: '退款金额(REFUND AMOUNT)', value: '¥123.45', emphasis: true });
    expect(f.fee).toMatchObject({ label: '手续费(FEE)', value: '¥1.00', emphasis: true });
    expect(f.net_amount).toMatchObject({
      label: '实际应退金额(NET REFUND)',
      value: '¥122.45',
      emphasis: true,
    });
    const big = fields(sampleModel({}, { amount: 123_456_789, fee: 9, netAmount: 123_456_780 }).lines);
    expect([big.amount?.value, big.fee?.value, big.net_amount?.value]).toEqual([
      '¥1,234,567.89',
      '¥0.09',
      '¥1,234,567.80',
    ]);
  });

  it('refuses an amount that is not an integer of fen, and a net amount that does not add up', () => {
    expect(() => sampleModel({}, { amount: 12.5, fee: 0, netAmount: 12.5 })).toThrow(/integer/);
    expect(() => sampleModel({}, { amount: 1000, fee: 100, netAmount: 1000 })).toThrow(/net amount/);
  });

  it('masks the card as BIN, six stars and the last four, from the stored BIN and last four only', () => {
    expect(maskCard({ bin: '622202', last4: '1234' })).toBe('622202******1234');
    expect(maskCard({ bin: null, last4: '1234' })).toBe('************1234');
    expect(fields(sampleModel().lines).card_no?.value).toBe('622202******1234');
    expect(() => maskCard({ bin: '622202', last4: '12345' })).toThrow();
  });

  it('shows how a non-card payment was paid, and asks for the customer signature', () => {
    const m = sampleModel({}, {}, { method: 'qr', card: undefined });
    const f = fields(m.lines);
    expect(f.card_no).toBeUndefined();
    expect(f.paid_by?.value).toBe('扫码支付/QR WALLET');
    expect(m.lines).toContainEqual({ kind: 'signature', label: '顾客签名 / CUSTOMER SIGNATURE' });
  });

  it('labels every reason code in Chinese, and prints the note of "other"', () => {
    const expected: Record<string, string> = {
      quality_issue: '商品存在质量问题',
      service_not_provided: '未提供承诺的服务',
      expired_goods: '商品已过期',
      transaction_error: '交易错误',
      duplicate_payment: '重复支付',
      other: '其它',
    };
    for (const [code, zh] of Object.entries(expected)) {
      expect(reasonLabels[code]?.['zh-CN']).toBe(zh);
      expect(fields(sampleModel({}, { reason: { code, note: null } }).lines).reason?.value).toBe(zh);
    }
    const other = fields(sampleModel({}, { reason: { code: 'other', note: '顾客改变主意' } }).lines);
    expect(other.reason).toMatchObject({ label: '退款原因(REASON)', value: '其它：顾客改变主意' });
  });

  it('marks a reprint with 重打印 / REPRINT and its print time; the original has neither', () => {
    const original = sampleModel({ reprint: false });
    expect(JSON.stringify(original)).not.toContain('REPRINT');
    expect(fields(original.lines).printed_at).toBeUndefined();
    const again = sampleModel({ reprint: true, printedAt: new Date('2025-03-04T16:30:00Z') });
    expect(again.lines[1]).toEqual({ kind: 'notice', text: '重打印 / REPRINT' });
    expect(fields(again.lines).printed_at?.value).toBe('2025-03-05 00:30:00');
  });

  it('gives times in Asia/Shanghai', () => {
    expect(shanghaiDateTime('2025-03-03T02:04:05.000Z')).toBe('2025-03-03 10:04:05');
    expect(shanghaiDateTime(new Date('2024-12-31T16:00:00Z'))).toBe('2025-01-01 00:00:00');
    expect(fields(sampleModel().lines).date_time?.value).toBe('2025-03-03 10:04:05');
  });

  it('prints the consumer phone only as stored masked, and no other personal data', () => {
    const m = sampleModel();
    expect(fields(m.lines).phone?.value).toBe('138****5678');
    expect(JSON.stringify(m)).not.toContain('张');
    const unmasked = sampleModel({}, { consumer: { phone: '13812345678' } });
    expect(JSON.stringify(unmasked)).not.toContain('13812345678');
  });

  it('shows a delay and promises no arrival for a refund that will not pay out', () => {
    const delayed = fields(sampleModel({}, { status: 'processing', delayed: true }).lines);
    expect(delayed.status?.value).toBe('处理中/PROCESSING (延迟/DELAYED)');
    expect(delayed.expected_arrival?.value).toBe('2025-03-05');
    expect(fields(sampleModel({}, { status: 'failed' }).lines).expected_arrival).toBeUndefined();
  });

  it('encodes the refund number in the QR code and ends with the signature line', () => {
    const m = sampleModel();
    expect(m.qrPayload).toBe('re_01JRECEIPTTEST000000000001');
    expect(m.lines).toContainEqual({
      kind: 'qr',
      payload: 're_01JRECEIPTTEST000000000001',
      caption: '扫码查询退款 / SCAN FOR REFUND',
    });
    expect(m.lines).toContainEqual({ kind: 'signature', label: '持卡人签名 / CARDHOLDER SIGNATURE' });
  });

  it('speaks Traditional Chinese with English, or English alone', () => {
    const tw = fields(sampleModel({ lang: 'zh-TW' }).lines);
    expect(tw.net_amount?.label).toBe('實際應退金額(NET REFUND)');
    expect(tw.trans_type?.value).toBe('退貨/REFUND');
    const en = sampleModel({ lang: 'en', reprint: true });
    expect(fields(en.lines).amount?.label).toBe('REFUND AMOUNT');
    expect(en.lines[1]).toEqual({ kind: 'notice', text: 'REPRINT' });
    for (const line of en.lines) {
      const text = line.kind === 'field' ? line.label : 'text' in line ? line.text : '';
      expect(text).not.toMatch(/\p{Script=Han}/u);
    }
  });

  it('turns control characters in free text into spaces, so a note cannot carry printer commands', () => {
    expect(printable('open\x1bp\x00\x19drawer\r\nnow')).toBe('open p drawer now');
    expect([...printable('长'.repeat(500))].length).toBe(200);
    const f = fields(sampleModel({}, { reason: { code: 'other', note: 'a\x1d\x56\x00b' } }).lines);
    expect(f.reason?.value).toBe('其它：a V b');
  });
});
