import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The cashier terminal (src/web/terminal) → dist/web/terminal, served by the API at /terminal/.
 * `npm run dev:web` serves it with hot reload and proxies the API to `npm run dev` on :3000.
 */
export default defineConfig({
  root: here('./src/web/terminal'),
  base: '/terminal/',
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: here('./dist/web/terminal'),
    emptyOutDir: true,
    target: 'es2022',
    // One small app: a single chunk keeps the first paint to two requests on a slow shop network.
    chunkSizeWarningLimit: 200,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:3000', '/openapi.json': 'http://127.0.0.1:3000' } },
});
