import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePermission } from '../../domain/auth.js';
import { DomainError } from '../../domain/errors.js';
import type { LinkStatus } from '../../network/port.js';
import {
  createApiKey,
  describeCaller,
  listApiKeys,
  revokeApiKey,
  signIn,
  signOut,
} from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { outboxDepth } from '../../worker/outbox.js';
import { bearer, mutate, requireCaller } from '../http.js';
import { AUTHED, answers, bodyRefusals, MUTATION, problems, rawAnswers } from '../schemas/problems.js';
import {
  ApiKeyInfo,
  ApiKeyList,
  ApiKeyView,
  CallerView,
  HealthView,
  SessionView,
} from '../schemas/responses.js';
import { ApiKeyBody, IdParams, SessionBody } from '../schemas.js';

export const sessionRoutes =
  (ctx: Ctx, signInPerMinute: number): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/health',
      {
        schema: {
          tags: ['health'],
          summary: 'Store and network link status',
          security: [],
          response: answers({ 200: HealthView, ...problems() }),
        },
      },
      async () => {
        let store: 'ok' | 'down' = 'ok';
        try {
          await ctx.store.db.selectFrom('merchants').select('id').limit(1).execute();
        } catch {
          store = 'down';
        }
        const link: LinkStatus = ctx.network.status
          ? await ctx.network.status().catch(() => 'down' as const)
          : (await ctx.network.echo().catch(() => false))
            ? 'up'
            : 'down';
        const depth = store === 'ok' ? await outboxDepth(ctx.store) : null;
        return {
          store,
          // The contract's two values: a link that cannot transact (keys bad) is not up.
          network: link === 'up' ? ('up' as const) : ('down' as const),
          link,
          networkAdapter: ctx.network.name,
          outboxPending: depth?.pending ?? null,
          outboxDead: depth?.dead ?? null,
        };
      },
    );

    app.post(
      '/v1/sessions',
      {
        // Per operator and terminal (or back office), whoever sends the guesses (the global limit is per client).
        config: {
          rateLimit: {
            max: signInPerMinute,
            timeWindow: 60_000,
            hook: 'preHandler',
            keyGenerator: (req) => {
              const b = req.body as
                | { terminalId?: unknown; merchantId?: unknown; operatorNo?: unknown }
                | undefined;
              const where =
                b?.terminalId === undefined ? `office:${String(b?.merchantId)}` : String(b.terminalId);
              return `sign-in|${where}|${String(b?.operatorNo)}`;
            },
          },
        },
        schema: {
          tags: ['sessions'],
          summary: 'Operator sign-in at a terminal, or in the back office (supervisors and admins)',
          description:
            'Send `terminalId` for a session at that terminal, or `merchantId` for a back-office session ' +
            '(`surface: "office"`, no terminal); both or neither is `validation_failed`. A cashier with the ' +
            'right password is refused the back office with `office_not_allowed`; a wrong password, an ' +
            'unknown operator, terminal or merchant and a disabled operator are all answered alike (401).',
          security: [],
          body: SessionBody,
          response: answers({
            201: SessionView,
            ...problems('validation_failed', 'unauthenticated', 'office_not_allowed', 'operator_locked'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => reply.code(201).send(await signIn(ctx, req.body)),
    );

    app.delete(
      '/v1/sessions/current',
      {
        schema: {
          tags: ['sessions'],
          summary: 'Sign out',
          response: rawAnswers({
            204: Type.Null({ description: 'Signed out' }),
            ...problems(...AUTHED, 'validation_failed'),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        if (caller.principal === 'merchant_system') {
          throw new DomainError(
            'validation_failed',
            'an API key is not a session: revoke it with DELETE /v1/api-keys/:id (admin)',
          );
        }
        const token = bearer(req);
        if (token) await signOut(ctx, token);
        return reply.code(204).send();
      },
    );

    app.get(
      '/v1/sessions/current',
      {
        schema: {
          tags: ['sessions'],
          summary: 'Who am I: operator or API key, surface, and the merchant with its time zone',
          response: answers({ 200: CallerView, ...problems(...AUTHED) }),
        },
      },
      async (req) => describeCaller(ctx, await requireCaller(ctx, req)),
    );

    app.post(
      '/v1/api-keys',
      {
        schema: {
          tags: ['sessions'],
          summary: 'Create an API key for a merchant system (admin)',
          body: ApiKeyBody,
          response: answers({
            201: ApiKeyView,
            ...problems(...AUTHED, 'forbidden', 'validation_failed'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'operator.manage');
        // The key is shown once; only its hash is stored, so there is nothing to replay.
        return reply.code(201).send(await createApiKey(ctx, caller, req.body.name, req.body.expiresInDays));
      },
    );

    app.get(
      '/v1/api-keys',
      {
        schema: {
          tags: ['sessions'],
          summary: "List the merchant's API keys with expiry, last use and revocation (admin)",
          response: answers({ 200: ApiKeyList, ...problems(...AUTHED, 'forbidden') }),
        },
      },
      async (req) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'operator.manage');
        return listApiKeys(ctx, caller);
      },
    );

    app.delete(
      '/v1/api-keys/:id',
      {
        schema: {
          tags: ['sessions'],
          summary: 'Revoke an API key at once (admin, audited)',
          params: IdParams,
          response: answers({
            200: ApiKeyInfo,
            ...problems(...AUTHED, ...MUTATION, 'forbidden', 'not_found'),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'operator.manage');
        return mutate(ctx, req, reply, caller, {
          status: 200,
          work: (trx) => revokeApiKey(ctx, trx, caller, req.params.id),
        });
      },
    );
  };
