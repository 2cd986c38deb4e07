import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requirePermission } from '../../domain/auth.js';
import { DomainError } from '../../domain/errors.js';
import { evidenceTypes, MAX_EVIDENCE_BYTES, MAX_EVIDENCE_PER_REFUND } from '../../domain/evidence.js';
import type { Ctx } from '../../service/context.js';
import {
  addEvidence,
  type EvidenceUpload,
  evidencePhoto,
  evidenceUpload,
  listEvidence,
} from '../../service/evidence.js';
import { errorHandler } from '../errors.js';
import { mutate, requireCaller } from '../http.js';
import { AUTHED, answers, KEYED_MUTATION, problems, rawAnswers } from '../schemas/problems.js';
import { EvidenceList, EvidenceView } from '../schemas/responses.js';
import { Id, IdParams } from '../schemas.js';

const EvidenceParams = Type.Object({ id: Id, evidenceId: Id });

const photoContent = Object.fromEntries(
  evidenceTypes.map((type) => [type, { schema: Type.String({ format: 'binary' }) }]),
);

/**
 * Fastify's own refusals of the photo's body, as this route's codes: a body over the limit (by its
 * Content-Length, or counted as it arrives) is `evidence_too_large`, a Content-Type no parser here
 * takes is `evidence_type_unsupported`.
 */
function photoErrors(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) {
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return errorHandler(
      new DomainError('evidence_too_large', `a photo may be at most ${MAX_EVIDENCE_BYTES} bytes`, {
        maxBytes: MAX_EVIDENCE_BYTES,
      }),
      req,
      reply,
    );
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return errorHandler(
      new DomainError(
        'evidence_type_unsupported',
        `send the photo itself as the body, with Content-Type ${evidenceTypes.join(', ')}`,
        { accepted: [...evidenceTypes] },
      ),
      req,
      reply,
    );
  }
  return errorHandler(err, req, reply);
}

/** Evidence photos of a refund in review (issue 11): the reviewer adds, lists and views them. */
export const evidenceRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    // The upload in a context of its own: only here is a body an image (and only an image).
    const uploadRoute: FastifyPluginAsyncTypebox = async (upload) => {
      upload.removeAllContentTypeParsers();
      upload.addContentTypeParser(
        [...evidenceTypes],
        { parseAs: 'buffer', bodyLimit: MAX_EVIDENCE_BYTES },
        (req, body, done) => done(null, evidenceUpload(req.headers['content-type'], body as Buffer)),
      );
      upload.setErrorHandler(photoErrors);
      upload.post(
        '/v1/refunds/:id/evidence',
        {
          bodyLimit: MAX_EVIDENCE_BYTES,
          // Who may add a photo is known before its bytes are read: a stranger sends no 2 MiB here.
          onRequest: async (req) => {
            requirePermission((await requireCaller(ctx, req)).principal, 'refund.review');
          },
          schema: {
            tags: ['refunds'],
            summary: `Add an evidence photo to a refund in review (JPEG, PNG or WebP, at most 2 MiB, ${MAX_EVIDENCE_PER_REFUND} per refund); send Idempotency-Key`,
            params: IdParams,
            consumes: [...evidenceTypes],
            // Documents the raw body (binary); what the validator sees is the parser's `EvidenceUpload`,
            // so the schema says nothing a string or an object could fail.
            body: Type.Unsafe<EvidenceUpload>({
              description:
                "the photo's bytes (binary), as image/jpeg, image/png or image/webp; its type is checked by its content, not only the header",
            }),
            response: answers({
              201: EvidenceView,
              ...problems(
                ...AUTHED,
                ...KEYED_MUTATION,
                'forbidden',
                'not_found',
                'invalid_state_transition',
                'evidence_limit',
                'evidence_too_large',
                'evidence_type_unsupported',
              ),
            }),
          },
        },
        async (req, reply) => {
          const caller = await requireCaller(ctx, req);
          // No body at all (no Content-Type, nothing sent) reaches here without a parser's upload.
          const photo = req.body ?? evidenceUpload(undefined, Buffer.alloc(0));
          return mutate(ctx, req, reply, caller, {
            status: 201,
            requireKey: true,
            work: (trx) => addEvidence(ctx, trx, caller, req.params.id, photo),
          });
        },
      );
    };
    await app.register(uploadRoute);

    app.get(
      '/v1/refunds/:id/evidence',
      {
        schema: {
          tags: ['refunds'],
          summary: "A refund's evidence photos (without their bytes), oldest first",
          params: IdParams,
          response: answers({
            200: EvidenceList,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => ({ data: await listEvidence(ctx, await requireCaller(ctx, req), req.params.id) }),
    );

    app.get(
      '/v1/refunds/:id/evidence/:evidenceId',
      {
        schema: {
          tags: ['refunds'],
          summary: 'One evidence photo: its bytes, with the type it was checked to be',
          params: EvidenceParams,
          response: rawAnswers({
            200: { description: 'The photo (inline, never sniffed as another type)', content: photoContent },
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        const photo = await evidencePhoto(ctx, caller, req.params.id, req.params.evidenceId);
        return reply
          .type(photo.contentType)
          .header('x-content-type-options', 'nosniff')
          .header('content-disposition', 'inline')
          .send(photo.data);
      },
    );
  };
