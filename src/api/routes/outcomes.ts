import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listOutcomes, MAX_CODE_LENGTH, outcomeFor } from '../../domain/outcomes.js';
import type { Ctx } from '../../service/context.js';
import { requireCaller } from '../http.js';
import { AUTHED, answers, problems } from '../schemas/problems.js';
import { OutcomeList, OutcomeView } from '../schemas/responses.js';

const CodeParams = Type.Object({
  code: Type.String({ minLength: 1, maxLength: MAX_CODE_LENGTH, pattern: '^[0-9A-Za-z_]+$' }),
});

/** Response codes in plain words (seed 004): what a refund's `network.responseCode` means and what to do. */
export const outcomeRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/response-codes',
      {
        schema: {
          tags: ['response-codes'],
          summary: 'Every network response code with its message and fix in zh-CN, zh-TW and en',
          description:
            'Includes the pseudo-code `delayed`: a refund past its processing SLA that has no response code yet.',
          response: answers({ 200: OutcomeList, ...problems(...AUTHED) }),
        },
      },
      async (req) => {
        await requireCaller(ctx, req);
        return { data: listOutcomes() };
      },
    );

    app.get(
      '/v1/response-codes/:code',
      {
        schema: {
          tags: ['response-codes'],
          summary: 'One response code with its message and fix',
          description:
            'A code this service has no entry for is not a 404: it may come from a real acquirer host, so the answer ' +
            'is a generic `failure` entry that names the code and says whom to ask.',
          params: CodeParams,
          response: answers({ 200: OutcomeView, ...problems(...AUTHED, 'validation_failed') }),
        },
      },
      async (req) => {
        await requireCaller(ctx, req);
        return outcomeFor(req.params.code);
      },
    );
  };
