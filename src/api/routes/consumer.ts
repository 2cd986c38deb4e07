import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { renderHtml } from '../../receipts/html.js';
import { renderText } from '../../receipts/text.js';
import type { Ctx } from '../../service/context.js';
import { consumerCaller, consumerReturn, linkClaims, submitReturn } from '../../service/returns.js';
import { trackedVoucher, trackRefund } from '../../service/tracking.js';
import { linkOrigin, mutate } from '../http.js';
import { answers, bodyRefusals, KEYED_MUTATION, problems, rawAnswers } from '../schemas/problems.js';
import { ConsumerReturnView, ReturnSubmitted, TrackingView } from '../schemas/responses.js';
import { ConsumerLangSchema, ReturnSubmitBody, ReturnTokenParams, TrackingTokenParams } from '../schemas.js';

/**
 * Consumer requests per minute per client address and route. The status page polls every 5 s (12
 * a minute), and phones behind one carrier NAT share an address: 300 lets 25 of them follow their
 * refunds at once, while a guesser of 192-bit status tokens or 128-bit link MACs gains nothing.
 */
export const DEFAULT_CONSUMER_PER_MINUTE = 300;

const LINK_CODES = [
  'return_link_invalid',
  'return_link_expired',
  'return_link_used',
  'return_canceled',
] as const;

/** The voucher page has no script at all (as the merchant's receipt route). */
const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/**
 * The consumer's API (issue 12): no sign-in — a return link or a status link is the only key, so
 * each answer shows only what that link names, and every route is rate-limited per client.
 */
export const consumerRoutes =
  (ctx: Ctx, perMinute = DEFAULT_CONSUMER_PER_MINUTE): FastifyPluginAsyncTypebox =>
  async (app) => {
    const config = { rateLimit: { max: perMinute, timeWindow: 60_000 } };

    app.get(
      '/v1/consumer/returns/:token',
      {
        config,
        schema: {
          tags: ['consumer'],
          security: [],
          summary:
            "The return a QR's link names: the shop, the lines, the total, the return policy (no sign-in)",
          params: ReturnTokenParams,
          response: answers({
            200: ConsumerReturnView,
            ...problems('validation_failed', 'rate_limited', ...LINK_CODES),
          }),
        },
      },
      async (req) => consumerReturn(ctx, req.params.token),
    );

    app.post(
      '/v1/consumer/returns/:token/submit',
      {
        config,
        schema: {
          tags: ['consumer'],
          security: [],
          summary:
            'The consumer submits the return once (reason, phone or e-mail for updates, language); the answer links the status page; send Idempotency-Key',
          params: ReturnTokenParams,
          body: ReturnSubmitBody,
          response: answers({
            201: ReturnSubmitted,
            ...problems(
              ...KEYED_MUTATION,
              'validation_failed',
              'reason_required',
              'reason_not_allowed',
              'return_refused',
              'rate_limited',
              ...LINK_CODES,
            ),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const { token } = req.params;
        const { merchantId, returnId } = linkClaims(ctx, token);
        const origin = linkOrigin(ctx, req);
        return mutate(ctx, req, reply, consumerCaller(merchantId, returnId), {
          status: 201,
          requireKey: true,
          keyNamespace: `return:${returnId}`,
          work: (trx) =>
            submitReturn(
              ctx,
              trx,
              token,
              { reason: req.body.reason, contact: req.body.contact, lang: req.body.lang ?? 'zh-CN' },
              origin,
            ),
        });
      },
    );

    app.get(
      '/v1/track/:token',
      {
        config,
        schema: {
          tags: ['consumer'],
          security: [],
          summary:
            "A refund as its status link shows it to the consumer (no sign-in): stage, amounts, expected arrival, the network's reference; ETag / If-None-Match for polling",
          params: TrackingTokenParams,
          response: rawAnswers({
            200: TrackingView,
            ...problems('validation_failed', 'rate_limited', 'tracking_link_invalid'),
          }),
        },
      },
      async (req, reply) => {
        const view = await trackRefund(ctx, req.params.token);
        const etag = `"${view.version}"`;
        // Revalidated each time, and never kept by a shared cache: the page is one consumer's.
        reply.header('etag', etag).header('cache-control', 'private, no-cache');
        if (req.headers['if-none-match'] === etag) return reply.code(304).send();
        return view;
      },
    );

    app.get(
      '/v1/track/:token/voucher',
      {
        config,
        exposeHeadRoute: false,
        schema: {
          tags: ['consumer'],
          security: [],
          summary: "The refund's voucher for the consumer to download (HTML or text; not counted as a print)",
          params: TrackingTokenParams,
          querystring: Type.Object(
            {
              format: Type.Optional(Type.Union([Type.Literal('html'), Type.Literal('text')])),
              lang: Type.Optional(ConsumerLangSchema),
            },
            { additionalProperties: false },
          ),
          response: rawAnswers({
            200: {
              description: 'the voucher',
              content: { 'text/html': { schema: Type.String() }, 'text/plain': { schema: Type.String() } },
            },
            ...problems('validation_failed', 'rate_limited', 'tracking_link_invalid'),
          }),
        },
      },
      async (req, reply) => {
        const model = await trackedVoucher(
          ctx,
          req.params.token,
          req.query.lang ?? 'zh-CN',
          linkOrigin(ctx, req),
        );
        const name = `refund-${model.refundId}`;
        if (req.query.format === 'text') {
          return reply
            .type('text/plain; charset=utf-8')
            .header('content-disposition', `attachment; filename="${name}.txt"`)
            .send(renderText(model, 58));
        }
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', HTML_CSP)
          .header('content-disposition', `attachment; filename="${name}.html"`)
          .send(await renderHtml(model, 80));
      },
    );
  };
