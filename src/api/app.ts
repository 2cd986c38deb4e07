import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { ulid } from '../ids.js';
import type { NetworkResult } from '../network/port.js';
import { qrNotifyRoutes } from '../network/qr-wallet/notify-route.js';
import type { Ctx } from '../service/context.js';
import { errorHandler, problem, sendProblem } from './errors.js';
import { consumerRoutes } from './routes/consumer.js';
import { evidenceRoutes } from './routes/evidence.js';
import { exportRoutes } from './routes/exports.js';
import { officeRoutes } from './routes/office.js';
import { operatorRoutes } from './routes/operators.js';
import { outboxRoutes } from './routes/outbox.js';
import { outcomeRoutes } from './routes/outcomes.js';
import { paymentRoutes } from './routes/payments.js';
import { receiptRoutes } from './routes/receipts.js';
import { reconciliationRoutes } from './routes/reconciliation.js';
import { refundRoutes } from './routes/refunds.js';
import { reportRoutes } from './routes/reports.js';
import { returnRoutes } from './routes/returns.js';
import { sessionRoutes } from './routes/sessions.js';
import { consumerPageRoutes, defaultWebRoot, webAppRoutes } from './web.js';

/** Log redaction: no credential, card number or personal data ever reaches a log line. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  '*.password',
  '*.pan',
  '*.card',
  '*.consumer',
  '*.contact',
  '*.approvals[*].password',
];

/**
 * A consumer's return link or status link is the only key to its page (issue 12): a URL carrying
 * one is logged with the token replaced, so reading logs does not let anyone submit a consumer's
 * return or follow their refund.
 */
const LINK_IN_PATH = /^(\/(?:r|t|v1\/track|v1\/consumer\/returns)\/)[^/?#]+/;
export const withoutLinkTokens = (url: string): string => url.replace(LINK_IN_PATH, '$1[link]');

/**
 * The logger's serializers (src/system.ts gives them to pino; Fastify's own request lines use an
 * instance's serializers over its defaults): a request as Fastify logs it, its URL without tokens.
 */
export const logSerializers = {
  req: (req: FastifyRequest) => ({
    method: req.method,
    url: withoutLinkTokens(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }),
};

export interface AppOptions {
  logger?: boolean;
  /** Verify and apply a QR wallet notification (mounted without bearer auth: the wallet signs it). */
  qrNotify?: (body: unknown) => Promise<NetworkResult>;
  /** The built terminal web app (`vite build` output); default `dist/web/terminal` of this package. */
  terminalRoot?: string;
  /** The built back office (dist/web/office); tests point it at a missing folder to see the 503. */
  officeRoot?: string;
  /** The built consumer pages (dist/web/consumer): the return page and the status page. */
  consumerRoot?: string;
  /** Requests per minute one client may make to the consumer's routes (links are the only key). */
  consumerPerMinute?: number;
  /** Per-client requests per minute, and sign-ins per minute per operator and terminal. */
  rateLimit?: { perMinute: number; signInPerMinute: number };
  /**
   * The load balancers whose `X-Forwarded-For` names the client (addresses or CIDRs); unset: the
   * socket's peer is the client, and a forwarded header is ignored (a client cannot pick its own
   * rate-limit bucket by sending one).
   */
  trustProxy?: string[];
}

export const defaultRateLimit = { perMinute: 1_200, signInPerMinute: 10 };

export async function buildApp(ctx: Ctx, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger === false ? undefined : (ctx.log as unknown as FastifyBaseLogger),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : `req_${ulid()}`;
    },
    requestIdHeader: false,
    trustProxy: opts.trustProxy ?? false,
    // A URL the router refuses before any route runs (a broken percent-escape, a path parameter
    // over its length limit) is answered like every other client error: problem+json, not
    // Fastify's own JSON shape.
    frameworkErrors: (err, req, reply) => {
      reply.header('x-request-id', req.id);
      return errorHandler(err, req, reply);
    },
    bodyLimit: 256 * 1024,
    ajv: {
      // Money must arrive as JSON integers: no "30" → 30 or 30.5 → 30 coercions, no silent extras.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
      plugins: [(await import('ajv-formats')).default as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // Graceful shutdown: requests in flight finish, and their keep-alive connections close after
  // the answer instead of holding the server open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    app.server.closeIdleConnections();
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  await app.register(helmet, {
    // The terminal, the API docs and the API itself come from this origin only; nothing may frame
    // them (a framed refund screen is a click-jacking target). Inline styles stay allowed: the
    // terminal and Swagger UI set styles from script; no inline script is allowed anywhere.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        // blob: the office shows evidence photos it fetched with the session's token.
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    // Served over plain HTTP on the shop's LAN in the demo: HSTS belongs to the TLS proxy in front.
    strictTransportSecurity: false,
  });
  const limits = opts.rateLimit ?? defaultRateLimit;
  await app.register(rateLimit, {
    global: true,
    max: limits.perMinute,
    timeWindow: 60_000,
    // Thrown into the one error handler: a problem+json 429 with Retry-After (set by the plugin).
    errorResponseBuilder: (_req, context) =>
      new DomainError('rate_limited', `too many requests; retry in ${context.after}`, {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
  // API answers carry money and personal data: never kept by a browser or a proxy.
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/v1/') && !reply.hasHeader('cache-control'))
      reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, {
      ...problem('not_found', `no route ${req.method} ${req.url}`),
      instance: req.url,
      requestId: String(req.id),
    }),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Refund Desk API',
        version: '1.0.0',
        description:
          'Reverse transactions at the point of sale: refunds, voids, amount adjustments. Amounts are integers in minor units (fen). ' +
          'Errors are application/problem+json with a stable `code`. Every POST accepts an `Idempotency-Key` header.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(sessionRoutes(ctx, limits.signInPerMinute));
  await app.register(paymentRoutes(ctx));
  await app.register(refundRoutes(ctx));
  await app.register(evidenceRoutes(ctx));
  await app.register(receiptRoutes(ctx));
  await app.register(officeRoutes(ctx));
  await app.register(reconciliationRoutes(ctx));
  await app.register(outcomeRoutes(ctx));
  await app.register(outboxRoutes(ctx));
  await app.register(operatorRoutes(ctx));
  await app.register(reportRoutes(ctx));
  await app.register(exportRoutes(ctx));
  await app.register(returnRoutes(ctx));
  await app.register(consumerRoutes(ctx, opts.consumerPerMinute));
  if (opts.qrNotify) await app.register(qrNotifyRoutes({ handle: opts.qrNotify }));
  const web = app as unknown as FastifyInstance;
  await webAppRoutes(web, 'terminal', opts.terminalRoot ?? defaultWebRoot('terminal'));
  await webAppRoutes(web, 'office', opts.officeRoot ?? defaultWebRoot('office'));
  const consumerRoot = opts.consumerRoot ?? defaultWebRoot('consumer');
  await webAppRoutes(web, 'consumer', consumerRoot);
  await consumerPageRoutes(web, consumerRoot);
  return app as unknown as FastifyInstance;
}
