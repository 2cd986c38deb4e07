import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePermission } from '../../domain/auth.js';
import type { Ctx } from '../../service/context.js';
import {
  getReconciliation,
  listReconciliations,
  loadSettlementFileUrl,
  recordReconciliation,
  runReconciliation,
} from '../../service/reconciliation.js';
import { limitOf, mutate, requireCaller } from '../http.js';
import { AUTHED, answers, bodyRefusals, MUTATION, problems } from '../schemas/problems.js';
import { ReconciliationPage, ReconciliationView } from '../schemas/responses.js';
import { Cursor, IdParams, Limit } from '../schemas.js';

/** A settlement file sent in the request: up to 16 MiB (bigger files: the CLI, or fetched by URL). */
const MAX_CSV_BYTES = 16 * 1024 * 1024;

const Day = Type.String({
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
  description: 'settlement day YYYY-MM-DD',
});

export const ReconciliationBody = Type.Object(
  {
    day: Day,
    csv: Type.Optional(
      Type.String({
        maxLength: MAX_CSV_BYTES,
        description:
          "the network's settlement file (CSV with its header line); when absent it is fetched from SETTLEMENT_FILE_URL",
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReconciliationQuery = Type.Object(
  { day: Type.Optional(Day), cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
  { additionalProperties: false },
);

export const reconciliationRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    // Read and validated once, at start.
    const fileUrlTemplate = loadSettlementFileUrl();

    app.post(
      '/v1/reconciliations',
      {
        // Room for the CSV and JSON escaping around it.
        bodyLimit: MAX_CSV_BYTES + 64 * 1024,
        schema: {
          tags: ['reconciliations'],
          summary:
            "Reconcile the network's settlement file of a day (对账) against the ledger; lists every mismatch",
          body: ReconciliationBody,
          response: answers({
            201: ReconciliationView,
            ...problems(...AUTHED, ...MUTATION, 'forbidden', 'network_unavailable'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'reconciliation.run');
        return mutate(ctx, req, reply, caller, {
          status: 201,
          prepare: () => runReconciliation(ctx, caller, req.body, fileUrlTemplate),
          work: (trx, prepared) => recordReconciliation(ctx, trx, caller, prepared),
        });
      },
    );

    app.get(
      '/v1/reconciliations/:id',
      {
        schema: {
          tags: ['reconciliations'],
          summary: 'One reconciliation run with its mismatches and bad rows',
          params: IdParams,
          response: answers({
            200: ReconciliationView,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => getReconciliation(ctx, await requireCaller(ctx, req), req.params.id),
    );

    app.get(
      '/v1/reconciliations',
      {
        schema: {
          tags: ['reconciliations'],
          summary: 'Reconciliation runs, latest first (summaries: counts and totals)',
          querystring: ReconciliationQuery,
          response: answers({
            200: ReconciliationPage,
            ...problems(...AUTHED, 'validation_failed', 'forbidden'),
          }),
        },
      },
      async (req) =>
        listReconciliations(ctx, await requireCaller(ctx, req), {
          day: req.query.day,
          cursor: req.query.cursor,
          limit: limitOf(req.query),
        }),
    );
  };
