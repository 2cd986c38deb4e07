import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requirePermission } from '../../domain/auth.js';
import type { VerifiedApproval } from '../../domain/refund.js';
import { verifyApprovals } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import {
  approveRefund,
  createRefund,
  createRefunds,
  getRefund,
  listRefunds,
  type RefundCreation,
  refundHistory,
  refundStatusList,
  reviewRefund,
} from '../../service/refunds.js';
import { batchOf, limitOf, mutate, requireCaller } from '../http.js';
import {
  APPROVALS,
  AUTHED,
  answers,
  bodyRefusals,
  KEYED_MUTATION,
  problems,
  REFUND_CREATION,
} from '../schemas/problems.js';
import { RefundEventList, RefundPage, RefundView } from '../schemas/responses.js';
import { ApproveBody, IdParams, NoteBody, RefundBody, RefundQuery } from '../schemas.js';

export const refundRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/v1/refunds',
      {
        schema: {
          tags: ['refunds'],
          summary: 'Create a refund (full, partial or by line items); send Idempotency-Key',
          body: RefundBody,
          response: answers({
            201: RefundView,
            ...problems(...AUTHED, ...KEYED_MUTATION, ...APPROVALS, ...REFUND_CREATION),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'refund.create');
        const { approvals, ...input } = req.body;
        return mutate(ctx, req, reply, caller, {
          status: 201,
          requireKey: true,
          // Password checks only: the key is checked and answered in the refund's transaction.
          local: true,
          prepare: approvals?.length ? () => verifyApprovals(ctx, caller.merchantId, approvals) : undefined,
          work: (trx, verified) => createRefund(ctx, trx, caller, input, verified ?? []),
          // Refunds of one merchant arriving together are decided in one pass over its locked
          // payments: the same outcome each, a fraction of the statements.
          batch: batchOf({
            kind: 'refund.create',
            item: (verified: VerifiedApproval[] | undefined): RefundCreation => ({
              caller,
              input,
              approvals: verified ?? [],
            }),
            many: (trx, items) => createRefunds(ctx, trx, caller.merchantId, items),
          }),
        });
      },
    );

    app.get(
      '/v1/refunds/:id',
      {
        schema: {
          tags: ['refunds'],
          summary: 'One refund',
          params: IdParams,
          response: answers({
            200: RefundView,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => getRefund(ctx, await requireCaller(ctx, req), req.params.id),
    );

    app.get(
      '/v1/refunds/:id/events',
      {
        schema: {
          tags: ['refunds'],
          summary: "A refund's status history",
          params: IdParams,
          response: answers({
            200: RefundEventList,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => ({ data: await refundHistory(ctx, await requireCaller(ctx, req), req.params.id) }),
    );

    app.get(
      '/v1/refunds',
      {
        schema: {
          tags: ['refunds'],
          summary: 'List refunds (review queue: ?status=requested,under_review&order=oldest)',
          querystring: RefundQuery,
          response: answers({ 200: RefundPage, ...problems(...AUTHED, 'validation_failed', 'forbidden') }),
        },
      },
      async (req) =>
        listRefunds(ctx, await requireCaller(ctx, req), {
          ...req.query,
          status: refundStatusList(req.query.status),
          limit: limitOf(req.query),
        }),
    );

    app.post(
      '/v1/refunds/:id/approve',
      {
        schema: {
          tags: ['refunds'],
          summary:
            'Supervisor approval (refund password); a refund in review (held by a risk rule, or accepted from the queue) also needs the review checklist',
          params: IdParams,
          body: ApproveBody,
          response: answers({
            200: RefundView,
            ...problems(
              ...AUTHED,
              ...KEYED_MUTATION,
              ...APPROVALS,
              'forbidden',
              'not_found',
              'invalid_state_transition',
              'review_checklist_incomplete',
              'return_inspection_required',
            ),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 200,
          requireKey: true,
          local: true,
          prepare: () => verifyApprovals(ctx, caller.merchantId, req.body.approvals),
          work: (trx, verified) =>
            approveRefund(ctx, trx, caller, req.params.id, verified, req.body.checklist),
        });
      },
    );

    const review = (path: string, to: 'under_review' | 'rejected' | 'canceled', summary: string) =>
      app.post(
        `/v1/refunds/:id/${path}`,
        {
          schema: {
            tags: ['refunds'],
            summary,
            params: IdParams,
            body: NoteBody,
            response: answers({
              200: RefundView,
              ...problems(
                ...AUTHED,
                ...KEYED_MUTATION,
                'forbidden',
                'not_found',
                'reason_required',
                'invalid_state_transition',
                'refund_at_network',
                'return_inspection_required',
              ),
              ...bodyRefusals(),
            }),
          },
        },
        async (req, reply) => {
          const caller = await requireCaller(ctx, req);
          return mutate(ctx, req, reply, caller, {
            status: 200,
            requireKey: true,
            work: (trx) => reviewRefund(ctx, trx, caller, req.params.id, to, req.body?.note),
          });
        },
      );
    review('accept', 'under_review', 'Accept a requested refund for review (受理)');
    review('reject', 'rejected', 'Reject a refund with a note');
    review('cancel', 'canceled', 'Cancel a refund before it reaches the network');
  };
