import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requirePermission } from '../../domain/auth.js';
import { createApiKey, signIn, signOut } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { outboxDepth } from '../../worker/outbox.js';
import { bearer, requireCaller } from '../http.js';
import { ApiKeyBody, SessionBody } from '../schemas.js';

export const sessionRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/health',
      { schema: { tags: ['health'], summary: 'Store and network link status' } },
      async () => {
        let store: 'ok' | 'down' = 'ok';
        try {
          await ctx.store.db.selectFrom('merchants').select('id').limit(1).execute();
        } catch {
          store = 'down';
        }
        const network = (await ctx.network.echo().catch(() => false)) ? 'up' : 'down';
        return {
          store,
          network,
          networkAdapter: ctx.network.name,
          outboxPending: store === 'ok' ? await outboxDepth(ctx.store) : null,
        };
      },
    );

    app.post(
      '/v1/sessions',
      { schema: { tags: ['sessions'], summary: 'Operator sign-in at a terminal', body: SessionBody } },
      async (req, reply) => reply.code(201).send(await signIn(ctx, req.body)),
    );

    app.delete(
      '/v1/sessions/current',
      { schema: { tags: ['sessions'], summary: 'Sign out' } },
      async (req, reply) => {
        await requireCaller(ctx, req);
        const token = bearer(req);
        if (token) await signOut(ctx, token);
        return reply.code(204).send();
      },
    );

    app.get('/v1/sessions/current', { schema: { tags: ['sessions'], summary: 'Who am I' } }, async (req) => {
      const c = await requireCaller(ctx, req);
      return {
        merchantId: c.merchantId,
        terminalId: c.terminalId,
        operator: c.operatorNo ? { no: c.operatorNo, role: c.principal } : null,
      };
    });

    app.post(
      '/v1/api-keys',
      {
        schema: {
          tags: ['sessions'],
          summary: 'Create an API key for a merchant system (admin)',
          body: ApiKeyBody,
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'operator.manage');
        // The key is shown once; only its hash is stored, so there is nothing to replay.
        return reply.code(201).send(await createApiKey(ctx, caller, req.body.name));
      },
    );
  };
