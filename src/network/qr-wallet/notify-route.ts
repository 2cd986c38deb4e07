import type { FastifyPluginAsync } from 'fastify';
import { type NetworkResult, ResultMismatchError } from '../port.js';
import { NOTIFY_ACK, QrWalletError } from './protocol.js';

export const QR_NOTIFY_PATH = '/v1/network/qr/notify';

export interface QrNotifyRouteOptions {
  /**
   * Verify one notification and apply its result — `QrWalletPort.handleNotification`. Throws
   * QrWalletError when the notification does not verify; any other error means "not applied".
   */
  handle: (body: unknown) => Promise<NetworkResult>;
  /** Default `/v1/network/qr/notify`. */
  path?: string;
}

const BODY_LIMIT_BYTES = 16 * 1024;

/** The wallet reads a plain-text answer, never JSON. */
const textAnswer = (description: string) => ({
  description,
  content: { 'text/plain': { schema: { type: 'string' } } },
});

/**
 * The merchant's notify URL for the QR wallet. It answers `success` only after the result was
 * applied; anything else makes the wallet deliver again later (Alipay / WeChat Pay behaviour), so
 * a crash between receipt and commit loses nothing. A notification that fails verification is
 * answered 400 `fail` and changes nothing. No bearer token: the wallet's signature is the
 * authentication. Register it as its own plugin (encapsulated: its body parser stays local).
 */
export function qrNotifyRoutes(opts: QrNotifyRouteOptions): FastifyPluginAsync {
  return async (app) => {
    app.addContentTypeParser(
      ['application/json', 'text/plain'],
      { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
      (_req, body, done) => done(null, body),
    );
    app.post(
      opts.path ?? QR_NOTIFY_PATH,
      {
        schema: {
          tags: ['network'],
          summary: 'QR wallet refund notification (signed by the wallet; answers the text `success`)',
          security: [],
          response: {
            200: textAnswer('applied: the text `success`'),
            400: textAnswer('not verified: the text `fail`; nothing changed'),
            500: textAnswer('not applied: the text `fail`; the wallet delivers again later'),
          },
        },
      },
      async (req, reply) => {
        reply.header('content-type', 'text/plain; charset=utf-8');
        let body: unknown;
        try {
          body = JSON.parse(typeof req.body === 'string' ? req.body : '');
        } catch {
          return reply.code(400).send('fail');
        }
        try {
          const result = await opts.handle(body);
          req.log.info(
            { requestId: result.requestId, outcome: result.outcome, responseCode: result.responseCode },
            'qr wallet notification applied',
          );
          return reply.code(200).send(NOTIFY_ACK);
        } catch (err) {
          if (err instanceof QrWalletError) {
            req.log.warn({ code: err.code }, 'qr wallet notification rejected');
            return reply.code(400).send('fail');
          }
          if (err instanceof ResultMismatchError) {
            req.log.error(
              { err: err.message },
              'qr wallet notification does not fit its refund: not applied',
            );
            return reply.code(400).send('fail');
          }
          req.log.error({ err }, 'qr wallet notification not applied; the wallet will retry');
          return reply.code(500).send('fail');
        }
      },
    );
  };
}
