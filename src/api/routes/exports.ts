import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Ctx } from '../../service/context.js';
import {
  type CsvExport,
  exportAudit,
  exportMismatches,
  exportOperators,
  exportPayments,
  exportRefunds,
  exportSettlements,
} from '../../service/exports.js';
import { refundStatusList } from '../../service/refunds.js';
import { requireCaller } from '../http.js';
import { AUTHED, type ProblemCode, problems, rawAnswers } from '../schemas/problems.js';
import {
  AuditExportQuery,
  IdParams,
  PaymentExportQuery,
  RefundExportQuery,
  SettlementExportQuery,
} from '../schemas.js';
import { paymentFilterOf } from './payments.js';

const CSV_TYPE = 'text/csv; charset=utf-8';

const csvAnswer = (what: string, ...more: ProblemCode[]) =>
  rawAnswers({
    200: {
      description: `${what}: UTF-8 with a BOM, RFC 4180 (CRLF), Chinese headers, amounts in yuan (元) as decimals, times in Asia/Shanghai; streamed`,
      content: {
        'text/csv': { schema: Type.String({ description: 'CSV, attachment <name>-YYYYMMDD.csv' }) },
      },
    },
    ...problems(...AUTHED, 'validation_failed', 'forbidden', ...more),
  });

function sendCsv(reply: FastifyReply, csv: CsvExport) {
  return reply
    .header('content-type', CSV_TYPE)
    .header('content-disposition', `attachment; filename="${csv.filename}"`)
    .send(csv.body);
}

/**
 * CSV exports of the back office's lists (service/exports.ts): supervisors and admins
 * (`report.read`; the audit log needs `audit.read`, closed batches and a reconciliation run's
 * mismatches `reconciliation.run`, as their lists do), the operators admins only
 * (`operator.manage`). No HEAD: it would read every row to send none.
 */
export const exportRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/exports/payments.csv',
      {
        exposeHeadRoute: false,
        schema: {
          tags: ['exports'],
          summary: 'Payments as CSV, with the filters of GET /v1/payments',
          querystring: PaymentExportQuery,
          response: csvAnswer('Payments'),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return sendCsv(reply, await exportPayments(ctx, caller, paymentFilterOf(req.query)));
      },
    );

    app.get(
      '/v1/exports/refunds.csv',
      {
        exposeHeadRoute: false,
        schema: {
          tags: ['exports'],
          summary: 'Refunds as CSV, with the filters of GET /v1/refunds',
          querystring: RefundExportQuery,
          response: csvAnswer('Refunds'),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        const filter = { ...req.query, status: refundStatusList(req.query.status) };
        return sendCsv(reply, await exportRefunds(ctx, caller, filter));
      },
    );

    app.get(
      '/v1/exports/audit.csv',
      {
        exposeHeadRoute: false,
        schema: {
          tags: ['exports'],
          summary: "The merchant's audit log as CSV, newest first (time, action, actor, entity)",
          querystring: AuditExportQuery,
          response: csvAnswer('Audit entries'),
        },
      },
      async (req, reply) => sendCsv(reply, await exportAudit(ctx, await requireCaller(ctx, req), req.query)),
    );

    app.get(
      '/v1/exports/settlements.csv',
      {
        exposeHeadRoute: false,
        schema: {
          tags: ['exports'],
          summary: 'Closed batches (批结算) as CSV, with the filters of GET /v1/settlements',
          querystring: SettlementExportQuery,
          response: csvAnswer('Closed batches'),
        },
      },
      async (req, reply) =>
        sendCsv(reply, await exportSettlements(ctx, await requireCaller(ctx, req), req.query)),
    );

    app.get(
      '/v1/exports/reconciliations/:id/mismatches.csv',
      {
        exposeHeadRoute: false,
        schema: {
          tags: ['exports'],
          summary:
            'Every mismatch of one reconciliation run (对账差异) as CSV, with what to do about each in Chinese',
          params: IdParams,
          response: csvAnswer('Mismatches, in the order GET /v1/reconciliations/:id lists them', 'not_found'),
        },
      },
      async (req, reply) =>
        sendCsv(reply, await exportMismatches(ctx, await requireCaller(ctx, req), req.params.id)),
    );

    app.get(
      '/v1/exports/operators.csv',
      {
        exposeHeadRoute: false,
        schema: {
          tags: ['exports'],
          summary:
            "Admin: the merchant's operators as CSV (role, enabled or not, locks in force; no password)",
          response: csvAnswer('Operators, by operator number'),
        },
      },
      async (req, reply) => sendCsv(reply, await exportOperators(ctx, await requireCaller(ctx, req))),
    );
  };
