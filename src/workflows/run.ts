import type { Ctx } from '../service/context.js';

/** A workflow's steps as the HTTP layer's `mutate` runs them (see api/http.ts). */
export interface WorkflowSteps<P, R> {
  prepare: () => Promise<P>;
  work: (trx: Parameters<Parameters<Ctx['store']['tx']>[0]>[0], prepared: P) => Promise<R>;
  compensate?: (prepared: P, err: unknown) => Promise<void>;
}

/** Run a workflow outside HTTP (demo data, CLI): the same steps and compensation, no idempotency key. */
export async function runWorkflow<P, R>(ctx: Pick<Ctx, 'store'>, steps: WorkflowSteps<P, R>): Promise<R> {
  const prepared = await steps.prepare();
  try {
    return await ctx.store.tx((trx) => steps.work(trx, prepared));
  } catch (err) {
    await steps.compensate?.(prepared, err);
    throw err;
  }
}
