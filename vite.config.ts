import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The three web apps, each served by the API under its own prefix and sharing src/web/shared:
 * - the cashier terminal (src/web/terminal) → dist/web/terminal, at /terminal/ (`vite build`);
 * - the back office (src/web/office) → dist/web/office, at /office/ (`vite build --mode office`);
 * - the consumer's pages (src/web/consumer) → dist/web/consumer, assets at /consumer/, the page
 *   itself at /r/<token> (return) and /t/<token> (status) (`vite build --mode consumer`).
 * `npm run dev:web` / `npm run dev:office` serve one with hot reload, proxying the API on :3000.
 */
export default defineConfig(({ mode }) => {
  const app = mode === 'office' || mode === 'consumer' ? mode : 'terminal';
  return {
    root: here(`./src/web/${app}`),
    base: `/${app}/`,
    plugins: [preact({ prerender: { enabled: false } })],
    build: {
      outDir: here(`./dist/web/${app}`),
      emptyOutDir: true,
      target: 'es2022',
      // The terminal is one small chunk: the first paint is two requests on a slow shop network.
      // The office splits its charts (ECharts) into a chunk of their own, loaded by the dashboard.
      // The consumer's page opens on a phone's mobile data: it stays as small as the terminal.
      chunkSizeWarningLimit: app === 'office' ? 700 : 200,
    },
    server: { proxy: { '/v1': 'http://127.0.0.1:3000', '/openapi.json': 'http://127.0.0.1:3000' } },
  };
});
