import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/api/errors.js';
import { terminalRoutes, webAppRoutes } from '../../src/api/web.js';

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

describe('serving the back office at /office beside the terminal', () => {
  it('serves each app from its own build under its own prefix, with its own 503 when unbuilt', async () => {
    const root = mkdtempSync(join(tmpdir(), 'office-build-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>office</title><div id="app"></div>');
    const app = Fastify();
    app.setErrorHandler(errorHandler);
    await webAppRoutes(app, 'terminal', join(tmpdir(), `no-terminal-build-${process.pid}`));
    await webAppRoutes(app, 'office', root);
    const bare = await app.inject({ url: '/office' });
    expect(bare.statusCode).toBe(301);
    expect(bare.headers.location).toBe('/office/');
    // A deep link (an order's page) gets the app, which routes itself.
    const deep = await app.inject({ url: '/office/orders/ORD-1' });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('<title>office</title>');
    const terminal = await app.inject({ url: '/terminal/' });
    expect(terminal.statusCode).toBe(503);
    expect(terminal.json().code).toBe('terminal_not_built');
    await app.close();

    const unbuilt = Fastify();
    unbuilt.setErrorHandler(errorHandler);
    await webAppRoutes(unbuilt, 'office', join(tmpdir(), `no-office-build-${process.pid}`));
    const r = await unbuilt.inject({ url: '/office/queue' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ status: 503, code: 'office_not_built' });
    await unbuilt.close();
  });
});
