import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePermission } from '../../domain/auth.js';
import { listReceiptSends, requestReceiptSend } from '../../receipts/send.js';
import { printReceipt } from '../../receipts/service.js';
import type { Ctx } from '../../service/context.js';
import { linkOrigin, mutate, requireCaller } from '../http.js';
import { AUTHED, answers, bodyRefusals, MUTATION, problems, rawAnswers } from '../schemas/problems.js';
import { ReceiptSendList, ReceiptSendsQueued } from '../schemas/responses.js';
import { IdParams } from '../schemas.js';

const ReceiptQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('text'), Type.Literal('html'), Type.Literal('escpos')], {
        description: 'text (default), html or escpos',
      }),
    ),
    width: Type.Optional(
      Type.Union([Type.Literal('58'), Type.Literal('80')], { description: 'paper roll in mm, default 58' }),
    ),
    lang: Type.Optional(
      Type.Union([Type.Literal('zh-CN'), Type.Literal('zh-TW'), Type.Literal('en')], {
        description: 'labels: zh-CN (default) and zh-TW with English beside them, or English alone',
      }),
    ),
  },
  { additionalProperties: false },
);

const SendBody = Type.Object(
  {
    email: Type.Optional(
      Type.String({ maxLength: 254, format: 'email', description: "the consumer's e-mail" }),
    ),
    phone: Type.Optional(
      Type.String({ pattern: '^\\+?[0-9]{5,20}$', description: "the consumer's mobile number (SMS)" }),
    ),
    lang: Type.Optional(
      Type.Union([Type.Literal('zh-CN'), Type.Literal('zh-TW'), Type.Literal('en')], {
        description: 'voucher labels, as for printing; default zh-CN',
      }),
    ),
  },
  { additionalProperties: false, description: 'at least one of email and phone' },
);

/** The page's scripts are none: a malicious note could not run even if escaping ever failed. */
const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export const receiptRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/refunds/:id/receipt',
      {
        // Every GET is a print (counted, audited); a HEAD must not be one.
        exposeHeadRoute: false,
        schema: {
          tags: ['refunds'],
          summary:
            'The refund voucher (退款凭证): text, printable HTML or ESC/POS (GB18030) for 58 or 80 mm paper. ' +
            'The first print is the original; every later one is marked 重打印 / REPRINT.',
          params: IdParams,
          querystring: ReceiptQuery,
          response: rawAnswers({
            200: {
              description:
                'The voucher; headers x-receipt-print-no and x-receipt-reprint say which print it is',
              content: {
                'text/plain': { schema: Type.String({ description: 'format=text (UTF-8)' }) },
                'text/html': { schema: Type.String({ description: 'format=html, printable page' }) },
                'application/octet-stream': {
                  schema: Type.String({ format: 'binary', description: 'format=escpos, GB18030' }),
                },
              },
            },
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'refund.read');
        const format = req.query.format ?? 'text';
        const printed = await printReceipt(ctx, caller, req.params.id, {
          format,
          width: req.query.width === '80' ? 80 : 58,
          lang: req.query.lang ?? 'zh-CN',
          origin: linkOrigin(ctx, req),
        });
        reply
          .header('content-type', printed.contentType)
          .header('cache-control', 'no-store')
          .header('x-receipt-print-no', String(printed.printNo))
          .header('x-receipt-reprint', String(printed.reprint));
        if (format === 'html') reply.header('content-security-policy', HTML_CSP);
        if (format === 'escpos')
          reply.header('content-disposition', `attachment; filename="${req.params.id}.escpos.bin"`);
        return reply.send(printed.body);
      },
    );

    app.post(
      '/v1/refunds/:id/receipt/send',
      {
        schema: {
          tags: ['refunds'],
          summary:
            "Send the refund voucher to the consumer's e-mail and/or phone (SMS); send Idempotency-Key. " +
            'Queued (202) and delivered by the worker; the destination is stored encrypted and shown masked.',
          params: IdParams,
          body: SendBody,
          response: answers({
            202: ReceiptSendsQueued,
            ...problems(...AUTHED, ...MUTATION, 'forbidden', 'not_found'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'refund.read');
        return mutate(ctx, req, reply, caller, {
          status: 202,
          work: (trx) => requestReceiptSend(ctx, trx, caller, req.params.id, req.body),
        });
      },
    );

    app.get(
      '/v1/refunds/:id/receipt/sends',
      {
        schema: {
          tags: ['refunds'],
          summary: "The refund voucher's sends to the consumer: channel, masked destination, status",
          params: IdParams,
          response: answers({
            200: ReceiptSendList,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => ({
        data: await listReceiptSends(ctx, await requireCaller(ctx, req), req.params.id),
      }),
    );
  };
