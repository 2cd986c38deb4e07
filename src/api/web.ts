import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from './errors.js';

export type WebApp = 'terminal' | 'office' | 'consumer';

/** Where `vite build` puts an app: `<repo>/dist/web/<app>`, from src/api or dist/api alike. */
export const defaultWebRoot = (app: WebApp): string =>
  fileURLToPath(new URL(`../../dist/web/${app}`, import.meta.url));
export const defaultTerminalRoot = defaultWebRoot('terminal');

/** A path with a file extension is an asset: a missing one is a 404, never the app's index page. */
const ASSET_PATH = /\/[^/]+\.[A-Za-z0-9]{1,8}$/;

const notBuilt = (app: WebApp) => (req: FastifyRequest, reply: FastifyReply) =>
  reply
    .code(503)
    .type('application/problem+json')
    .send({
      type: `https://refund-desk.dev/problems/${app}_not_built`,
      title: `The ${app} web app is not built`,
      status: 503,
      code: `${app}_not_built`,
      detail: 'Run `npm run build` (or `npm start`, which builds it), then restart the server.',
      instance: req.url,
      requestId: String(req.id),
    });

/**
 * A web app (PRODUCT.md §1: the cashier terminal, the back office) as static files under
 * `/<app>/`, built by `vite build [--mode office]`. `/<app>` redirects to `/<app>/`; unknown paths
 * below it get index.html (the app routes itself), missing assets a 404. Without a build the whole
 * prefix answers 503 saying how to build.
 */
export async function webAppRoutes(app: FastifyInstance, name: WebApp, root: string): Promise<void> {
  const prefix = `/${name}`;
  if (!existsSync(join(root, 'index.html'))) {
    app.get(prefix, { schema: { hide: true } }, notBuilt(name));
    app.get(`${prefix}/*`, { schema: { hide: true } }, notBuilt(name));
    return;
  }
  const assets = join(root, 'assets') + sep;
  await app.register(
    async (scope) => {
      // `/terminal` → `/terminal/` (query kept), so the page's relative URLs resolve below the prefix.
      scope.addHook('onRequest', async (req, reply) => {
        const [path, query] = req.url.split('?', 2);
        if (path === prefix)
          return reply.redirect(`${prefix}/${query === undefined ? '' : `?${query}`}`, 301);
      });
      await scope.register(fastifyStatic, {
        root,
        prefix: '/',
        redirect: true,
        wildcard: true,
        index: 'index.html',
        cacheControl: false,
        // Hashed assets never change; index.html is revalidated so a new build is picked up.
        setHeaders: (reply, path) => {
          reply.header(
            'cache-control',
            path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
        },
      });
      scope.setNotFoundHandler((req, reply) => {
        const path = req.url.split('?')[0] ?? req.url;
        if (req.method !== 'GET' || ASSET_PATH.test(path)) {
          return sendProblem(reply, {
            ...problem('not_found', `no route ${req.method} ${req.url}`),
            instance: req.url,
            requestId: String(req.id),
          });
        }
        return reply.header('cache-control', 'no-cache').sendFile('index.html');
      });
    },
    { prefix },
  );
}

export const terminalRoutes = (app: FastifyInstance, root: string): Promise<void> =>
  webAppRoutes(app, 'terminal', root);

/**
 * The consumer's pages at their short paths: `/r/<token>` (the return page a QR opens) and
 * `/t/<token>` (a refund's status page, printed and sent on vouchers). Both are the consumer app's
 * index.html (its assets under /consumer/), never cached: the app reads the token from the path.
 */
export async function consumerPageRoutes(app: FastifyInstance, root: string): Promise<void> {
  const index = join(root, 'index.html');
  for (const path of ['/r/:token', '/t/:token']) {
    app.get(path, { schema: { hide: true } }, async (req, reply) => {
      if (!existsSync(index)) return notBuilt('consumer')(req, reply);
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(await readFile(index, 'utf8'));
    });
  }
}
