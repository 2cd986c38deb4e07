import { defaultPolicy } from './domain/policy.js';
import { ulid } from './ids.js';
import { hashPassword } from './security.js';
import type { Caller, Ctx } from './service/context.js';
import type { PaymentInput } from './service/payments.js';
import { appendAudit } from './store/audit.js';
import { runWorkflow } from './workflows/run.js';
import { saleWorkflow } from './workflows/sale.js';

export const DEMO = {
  merchantId: '898100000000001',
  merchantName: '示例便利店 Demo Mart',
  terminalId: 'T0000001',
  operators: [
    { no: '01', role: 'cashier', name: '收银员 01', password: '1111' },
    { no: '00', role: 'supervisor', name: '主管 00', password: '123456' },
    { no: '02', role: 'supervisor', name: '主管 02', password: '222222' },
    { no: '99', role: 'admin', name: '管理员 99', password: '12345678' },
  ],
  /** The merchant's settlement account at the acquirer when the demo starts: ¥100,000. */
  openingFundsMinor: 10_000_000,
} as const;

/** A Luhn-valid test card number built from a 15-digit body (no real card number is kept in code). */
export function testPan(body15: string): string {
  let sum = 0;
  for (let i = 0; i < body15.length; i++) {
    let d = Number(body15[body15.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body15}${(10 - (sum % 10)) % 10}`;
}

export const demoSales: PaymentInput[] = [
  {
    orderNo: 'DEMO-1001',
    amount: 25_800,
    currency: 'CNY',
    method: 'card',
    card: { pan: testPan('622202100001234'), expiry: '2912' },
    items: [
      { sku: 'TEA-001', name: '西湖龙井 250g', qty: 1, unitAmount: 19_800 },
      { sku: 'CUP-002', name: '玻璃茶杯', qty: 2, unitAmount: 3_000 },
    ],
  },
  { orderNo: 'DEMO-1002', amount: 12_345, currency: 'CNY', method: 'qr' },
  { orderNo: 'DEMO-1003', amount: 5_000, currency: 'CNY', method: 'cash' },
  {
    orderNo: 'DEMO-1004',
    amount: 880_000,
    currency: 'CNY',
    method: 'card',
    card: { pan: testPan('621700000000567'), expiry: '2810' },
    items: [{ sku: 'PHONE-01', name: '智能手机', qty: 1, unitAmount: 880_000 }],
  },
];

/** On an empty store: the demo merchant of PRODUCT.md §9, its terminal, operators and a few sales. */
export async function seedDemo(ctx: Ctx): Promise<boolean> {
  const any = await ctx.store.db.selectFrom('merchants').select('id').limit(1).executeTakeFirst();
  if (any) return false;
  const now = ctx.clock().toISOString();
  const hashes = await Promise.all(DEMO.operators.map((o) => hashPassword(o.password)));
  const seeded = await ctx.store.tx(async (trx) => {
    // Two processes starting on one empty PostgreSQL: only the first seeds.
    const again = await trx.selectFrom('merchants').select('id').limit(1).executeTakeFirst();
    if (again) return false;
    await trx
      .insertInto('merchants')
      .values({
        id: DEMO.merchantId,
        name: DEMO.merchantName,
        currency: 'CNY',
        available_funds_minor: DEMO.openingFundsMinor,
        policy_json: JSON.stringify(defaultPolicy),
        created_at: now,
      })
      .execute();
    await trx
      .insertInto('acq_accounts')
      .values({ merchant_id: DEMO.merchantId, balance_minor: DEMO.openingFundsMinor })
      .execute();
    await trx
      .insertInto('terminals')
      .values({
        id: DEMO.terminalId,
        merchant_id: DEMO.merchantId,
        name: '前台 1 号机',
        batch_no: 1,
        created_at: now,
      })
      .execute();
    for (const [i, o] of DEMO.operators.entries()) {
      await trx
        .insertInto('operators')
        .values({
          id: `op_${ulid()}`,
          merchant_id: DEMO.merchantId,
          operator_no: o.no,
          role: o.role,
          name: o.name,
          password_hash: hashes[i] ?? '',
          failed_attempts: 0,
          approval_failed_attempts: 0,
          locked_until: null,
          created_at: now,
        })
        .execute();
    }
    await appendAudit(trx, {
      merchantId: DEMO.merchantId,
      actor: 'system',
      action: 'demo.seeded',
      entity: 'merchant',
      entityId: DEMO.merchantId,
      data: { operators: DEMO.operators.map((o) => o.no) },
      at: ctx.clock(),
    });
    return true;
  });
  if (!seeded) return false;
  const caller: Caller = {
    merchantId: DEMO.merchantId,
    principal: 'admin',
    actor: 'system:demo',
    operatorId: null,
    operatorNo: null,
    terminalId: DEMO.terminalId,
  };
  for (const sale of demoSales) {
    const paymentId = `pay_${ulid()}`;
    await runWorkflow(ctx, saleWorkflow(ctx, caller, sale, paymentId));
  }
  return true;
}
