import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from './errors.js';

/** Where `vite build` puts the terminal: `<repo>/dist/web/terminal`, from src/api or dist/api alike. */
export const defaultTerminalRoot = fileURLToPath(new URL('../../dist/web/terminal', import.meta.url));

/** A path with a file extension is an asset: a missing one is a 404, never the app's index page. */
const ASSET_PATH = /\/[^/]+\.[A-Za-z0-9]{1,8}$/;

function notBuilt(req: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(503)
    .type('application/problem+json')
    .send({
      type: 'https://refund-desk.dev/problems/terminal_not_built',
      title: 'The terminal web app is not built',
      status: 503,
      code: 'terminal_not_built',
      detail: 'Run `npm run build` (or `npm start`, which builds it), then restart the server.',
      instance: req.url,
      requestId: String(req.id),
    });
}

/**
 * The cashier terminal (PRODUCT.md §1) as static files under `/terminal/`, built by `vite build`.
 * `/terminal` redirects to `/terminal/`; unknown paths below it get index.html (the app routes
 * itself), missing assets a 404. Without a build the whole prefix answers 503 saying how to build.
 */
export async function terminalRoutes(app: FastifyInstance, root: string): Promise<void> {
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/terminal', { schema: { hide: true } }, notBuilt);
    app.get('/terminal/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  const assets = join(root, 'assets') + sep;
  await app.register(
    async (scope) => {
      // `/terminal` → `/terminal/` (query kept), so the page's relative URLs resolve below the prefix.
      scope.addHook('onRequest', async (req, reply) => {
        const [path, query] = req.url.split('?', 2);
        if (path === '/terminal')
          return reply.redirect(`/terminal/${query === undefined ? '' : `?${query}`}`, 301);
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
    { prefix: '/terminal' },
  );
}
