import type { ReceiptOptions, ReceiptPayment, ReceiptRefund } from '../../src/receipts/model.js';
import { receiptModel } from '../../src/receipts/model.js';

/** A succeeded card refund as the API shows it: ¥123.45 less a ¥1.00 handling fee. */
export function sampleRefund(over: Partial<ReceiptRefund> = {}): ReceiptRefund {
  return {
    id: 're_01JRECEIPTTEST000000000001',
    orderNo: 'DEMO-1001',
    amount: 12_345,
    fee: 100,
    netAmount: 12_245,
    currency: 'CNY',
    reason: { code: 'quality_issue', note: null },
    method: 'original',
    status: 'succeeded',
    delayed: false,
    expectedArrival: '2025-03-05',
    network: { reference: '250303000042' },
    consumer: { phone: '138****5678', name: '张*' },
    terminalId: 'T0000001',
    createdAt: '2025-03-03T02:04:05.000Z',
    ...over,
  };
}

export function samplePayment(over: Partial<ReceiptPayment> = {}): ReceiptPayment {
  return {
    method: 'card',
    terminalId: 'T0000001',
    network: { reference: '250301000007' },
    card: { bin: '622202', last4: '1234' },
    ...over,
  };
}

export const sampleMerchant = { id: '898100000000001', name: '示例便利店 Demo Mart' };

export function sampleModel(
  opts: Partial<ReceiptOptions> = {},
  refund: Partial<ReceiptRefund> = {},
  payment: Partial<ReceiptPayment> = {},
) {
  return receiptModel(
    sampleRefund(refund),
    samplePayment(payment),
    sampleMerchant,
    { id: 'T0000001' },
    { no: '01' },
    { reprint: false, printedAt: new Date('2025-03-04T01:00:00Z'), lang: 'zh-CN', ...opts },
  );
}
