import { requirePermission } from '../domain/auth.js';
import { type Policy, validatePolicy } from '../domain/policy.js';
import { appendAudit } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import { lockMerchant, policyOf } from '../store/repo.js';
import type { Caller, Ctx } from './context.js';

export async function getPolicy(ctx: Ctx, caller: Caller): Promise<Policy> {
  requirePermission(caller.principal, 'policy.read');
  const m = await ctx.store.db
    .selectFrom('merchants')
    .select('policy_json')
    .where('id', '=', caller.merchantId)
    .executeTakeFirstOrThrow();
  return policyOf(m);
}

/** Replace the policy (fields not given keep their value); every change is audited with before/after. */
export async function putPolicy(ctx: Ctx, trx: Tx, caller: Caller, patch: Partial<Policy>): Promise<Policy> {
  requirePermission(caller.principal, 'policy.write');
  const merchant = await lockMerchant(trx, caller.merchantId);
  const before = policyOf(merchant);
  const after = validatePolicy({ ...before, ...patch });
  await trx
    .updateTable('merchants')
    .set({ policy_json: JSON.stringify(after) })
    .where('id', '=', caller.merchantId)
    .execute();
  const changed = Object.keys(after).filter(
    (k) => JSON.stringify(after[k as keyof Policy]) !== JSON.stringify(before[k as keyof Policy]),
  );
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'policy.changed',
    entity: 'merchant',
    entityId: caller.merchantId,
    data: {
      changed,
      before: Object.fromEntries(changed.map((k) => [k, before[k as keyof Policy]])),
      after: Object.fromEntries(changed.map((k) => [k, after[k as keyof Policy]])),
    },
    at: ctx.clock(),
  });
  return after;
}
