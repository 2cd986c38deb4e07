import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Ctx } from '../../service/context.js';
import { refundReport, workReport } from '../../service/reports.js';
import { requireCaller } from '../http.js';
import { AUTHED, answers, problems } from '../schemas/problems.js';
import { RefundReportView, WorkReportView } from '../schemas/responses.js';
import { ReportQuery } from '../schemas.js';

/** The back office's figures (supervisors, admins): see service/reports.ts. */
export const reportRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/reports/refunds',
      {
        schema: {
          tags: ['reports'],
          summary:
            'Refunds per merchant day, by reason, operator and method, with sales and the refund rate (default: the last 30 days)',
          querystring: ReportQuery,
          response: answers({
            200: RefundReportView,
            ...problems(...AUTHED, 'validation_failed', 'forbidden'),
          }),
        },
      },
      async (req) => refundReport(ctx, await requireCaller(ctx, req), req.query),
    );

    app.get(
      '/v1/reports/work',
      {
        schema: {
          tags: ['reports'],
          summary:
            'The work waiting: review queue and its oldest entry, delayed and failed refunds, dead outbox work',
          response: answers({ 200: WorkReportView, ...problems(...AUTHED, 'forbidden') }),
        },
      },
      async (req) => workReport(ctx, await requireCaller(ctx, req)),
    );
  };
