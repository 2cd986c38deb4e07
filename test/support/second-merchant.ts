import { defaultPolicy } from '../../src/domain/policy.js';
import { ulid } from '../../src/ids.js';
import { hashPassword } from '../../src/security.js';
import type { Ctx } from '../../src/service/context.js';
import { appendAudit } from '../../src/store/audit.js';

/** A merchant beside the demo one, for suites that check one merchant never reaches another's data. */
export interface SecondMerchant {
  merchantId: string;
  name: string;
  terminalId: string;
  operators: { no: string; role: 'cashier' | 'supervisor' | 'admin'; name: string; password: string }[];
}

/** A second merchant with its own terminal and operators, written as the demo seed writes one. */
export async function seedSecondMerchant(ctx: Ctx, B: SecondMerchant): Promise<void> {
  const now = ctx.clock().toISOString();
  const hashes = await Promise.all(B.operators.map((o) => hashPassword(o.password)));
  await ctx.store.tx(async (trx) => {
    await trx
      .insertInto('merchants')
      .values({
        id: B.merchantId,
        name: B.name,
        currency: 'CNY',
        available_funds_minor: 1_000_000,
        policy_json: JSON.stringify(defaultPolicy),
        created_at: now,
      })
      .execute();
    await trx
      .insertInto('acq_accounts')
      .values({ merchant_id: B.merchantId, balance_minor: 1_000_000 })
      .execute();
    await trx
      .insertInto('terminals')
      .values({ id: B.terminalId, merchant_id: B.merchantId, name: 'B till', batch_no: 1, created_at: now })
      .execute();
    for (const [i, o] of B.operators.entries()) {
      await trx
        .insertInto('operators')
        .values({
          id: `op_${ulid()}`,
          merchant_id: B.merchantId,
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
      merchantId: B.merchantId,
      actor: 'system',
      action: 'test.merchant_seeded',
      entity: 'merchant',
      entityId: B.merchantId,
      data: {},
      at: ctx.clock(),
    });
  });
}
