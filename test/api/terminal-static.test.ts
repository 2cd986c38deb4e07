import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/api/errors.js';
import { terminalRoutes } from '../../src/api/web.js';

async function appServing(root: string) {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  await terminalRoutes(app, root);
  return app;
}

describe('serving the terminal web app at /terminal', () => {
  it('answers 503 problem+json saying to run npm run build when the build is missing', async () => {
    const app = await appServing(join(tmpdir(), `no-terminal-build-${process.pid}`));
    for (const url of ['/terminal', '/terminal/', '/terminal/assets/index.js']) {
      const r = await app.inject({ url });
      expect(r.statusCode).toBe(503);
      expect(r.headers['content-type']).toContain('application/problem+json');
      expect(r.json()).toMatchObject({ status: 503, code: 'terminal_not_built' });
      expect(r.json().detail).toContain('npm run build');
    }
    await app.close();
  });

  it('serves the build, redirects /terminal to /terminal/, falls back to index.html, 404s missing assets', async () => {
    const root = mkdtempSync(join(tmpdir(), 'terminal-build-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><div id="app"></div>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    const app = await appServing(root);
    const bare = await app.inject({ url: '/terminal?lang=en' });
    expect(bare.statusCode).toBe(301);
    expect(bare.headers.location).toBe('/terminal/?lang=en');
    const index = await app.inject({ url: '/terminal/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['cache-control']).toBe('no-cache');
    const deep = await app.inject({ url: '/terminal/refund/step-2' });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('<div id="app">');
    const asset = await app.inject({ url: '/terminal/assets/index-abc.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    const missing = await app.inject({ url: '/terminal/assets/gone.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
    await app.close();
  });
});
