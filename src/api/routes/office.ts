import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requirePermission } from '../../domain/auth.js';
import { ulid } from '../../ids.js';
import { listAudit } from '../../service/audit.js';
import { verifyApprovals } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { getOrder } from '../../service/orders.js';
import { getPolicy, putPolicy } from '../../service/policy.js';
import {
  getSettlement,
  listSettlements,
  recordSettlement,
  settleOnNetwork,
} from '../../service/settlements.js';
import { verifyAudit } from '../../store/audit.js';
import { adjustmentWorkflow } from '../../workflows/adjustment.js';
import { idempotencyKey, keyedId, limitOf, mutate, requireCaller } from '../http.js';
import {
  APPROVALS,
  AUTHED,
  answers,
  bodyRefusals,
  KEYED_MUTATION,
  MUTATION,
  problems,
  REFUND_CREATION,
} from '../schemas/problems.js';
import {
  AdjustmentView,
  AuditPage,
  AuditVerifyView,
  OrderView,
  PolicyView,
  SettlementPage,
  SettlementView,
} from '../schemas/responses.js';
import {
  AdjustmentBody,
  AuditQuery,
  IdParams,
  OrderParams,
  PolicyBody,
  SettlementBody,
  SettlementQuery,
} from '../schemas.js';

export const officeRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/orders/:orderNo',
      {
        schema: {
          tags: ['orders'],
          summary: 'An order with its payments, refunds and revision history',
          params: OrderParams,
          response: answers({
            200: OrderView,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => getOrder(ctx, await requireCaller(ctx, req), req.params.orderNo),
    );

    app.post(
      '/v1/orders/:orderNo/adjustments',
      {
        schema: {
          tags: ['orders'],
          summary: 'Amount adjustment (调整金额): a decrease refunds, an increase charges the difference',
          params: OrderParams,
          body: AdjustmentBody,
          response: answers({
            201: AdjustmentView,
            ...problems(
              ...AUTHED,
              ...KEYED_MUTATION,
              ...APPROVALS,
              ...REFUND_CREATION,
              'adjustment_amount_mismatch',
              'charge_needs_card',
              'currency_mismatch',
              'invalid_state_transition',
              'network_unavailable',
            ),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'order.adjust');
        const chargeId = keyedId('pay_', caller, idempotencyKey(req), () => `pay_${ulid()}`);
        const { approvals, ...input } = req.body;
        return mutate(
          ctx,
          req,
          reply,
          caller,
          adjustmentWorkflow(
            ctx,
            caller,
            req.params.orderNo,
            input,
            () => verifyApprovals(ctx, caller.merchantId, approvals ?? []),
            chargeId,
          ),
        );
      },
    );

    app.post(
      '/v1/settlements',
      {
        schema: {
          tags: ['settlements'],
          summary: 'Batch settlement (批结算) of a terminal, reconciled with the network',
          body: SettlementBody,
          response: answers({
            201: SettlementView,
            ...problems(...AUTHED, ...MUTATION, 'forbidden', 'not_found', 'network_unavailable'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 201,
          prepare: () => settleOnNetwork(ctx, caller, req.body.terminalId),
          work: (trx, network) => recordSettlement(ctx, trx, caller, req.body.terminalId, network),
        });
      },
    );

    app.get(
      '/v1/settlements',
      {
        schema: {
          tags: ['settlements'],
          summary: "Closed batches (批结算), newest first: the merchant's, or one terminal's",
          description:
            'Each with its totals and its reconciliation with the network (balanced, both sides, the buckets that differ).',
          querystring: SettlementQuery,
          response: answers({
            200: SettlementPage,
            ...problems(...AUTHED, 'validation_failed', 'forbidden'),
          }),
        },
      },
      async (req) =>
        listSettlements(ctx, await requireCaller(ctx, req), { ...req.query, limit: limitOf(req.query) }),
    );

    app.get(
      '/v1/settlements/:id',
      {
        schema: {
          tags: ['settlements'],
          summary: 'One closed batch with its totals and reconciliation',
          params: IdParams,
          response: answers({
            200: SettlementView,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => getSettlement(ctx, await requireCaller(ctx, req), req.params.id),
    );

    app.get(
      '/v1/policy',
      {
        schema: {
          tags: ['policy'],
          summary: "The merchant's refund policy",
          response: answers({ 200: PolicyView, ...problems(...AUTHED, 'forbidden') }),
        },
      },
      async (req) => getPolicy(ctx, await requireCaller(ctx, req)),
    );

    app.put(
      '/v1/policy',
      {
        schema: {
          tags: ['policy'],
          summary: 'Change the refund policy (audited)',
          body: PolicyBody,
          response: answers({
            200: PolicyView,
            ...problems(...AUTHED, ...MUTATION, 'forbidden'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 200,
          work: (trx) => putPolicy(ctx, trx, caller, req.body),
        });
      },
    );

    app.get(
      '/v1/audit/verify',
      {
        schema: {
          tags: ['audit'],
          summary: 'Recompute the hash chain of the audit log',
          response: answers({ 200: AuditVerifyView, ...problems(...AUTHED, 'forbidden') }),
        },
      },
      async (req) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'audit.read');
        return verifyAudit(ctx.store, caller.merchantId);
      },
    );

    app.get(
      '/v1/audit',
      {
        schema: {
          tags: ['audit'],
          summary: "The merchant's audit entries, newest first, filtered, one page",
          description:
            'The filters of GET /v1/exports/audit.csv (time range, action, actor, entity and its id), paged by cursor along the chain.',
          querystring: AuditQuery,
          response: answers({ 200: AuditPage, ...problems(...AUTHED, 'validation_failed', 'forbidden') }),
        },
      },
      async (req) =>
        listAudit(ctx, await requireCaller(ctx, req), { ...req.query, limit: limitOf(req.query, 50) }),
    );
  };
