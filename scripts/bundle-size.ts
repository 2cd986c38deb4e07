/**
 * `npm run bundle-size`: what each web app sends to a browser, from the production build
 * (`npm run build:web`): every JS and CSS file of dist/web/<app>/assets, raw, gzip and brotli, and
 * what the first page load needs (the entry chunk and its CSS; the office's charts chunk loads
 * only with the dashboard). Writes bench/bundle-size.json for the README.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const repo = fileURLToPath(new URL('..', import.meta.url));

interface FileSize {
  file: string;
  raw: number;
  gzip: number;
  brotli: number;
  initial: boolean;
}

function sizes(app: string): FileSize[] {
  const dir = join(repo, 'dist/web', app);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  return readdirSync(join(dir, 'assets'))
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .map((file) => {
      const bytes = readFileSync(join(dir, 'assets', file));
      return {
        file,
        raw: bytes.length,
        gzip: gzipSync(bytes, { level: 9 }).length,
        brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
        // Named by index.html: fetched on the first load; the rest is loaded on demand.
        initial: html.includes(`assets/${file}`),
      };
    })
    .sort((a, b) => b.raw - a.raw);
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const result: Record<string, { files: FileSize[]; initialGzip: number; totalGzip: number }> = {};
for (const app of ['terminal', 'office']) {
  const files = sizes(app);
  const initialGzip = files.filter((f) => f.initial).reduce((s, f) => s + f.gzip, 0);
  const totalGzip = files.reduce((s, f) => s + f.gzip, 0);
  result[app] = { files, initialGzip, totalGzip };
  process.stdout.write(`${app}: first load ${kb(initialGzip)} gzip, everything ${kb(totalGzip)} gzip\n`);
  for (const f of files)
    process.stdout.write(
      `  ${f.file.padEnd(36)} ${kb(f.raw).padStart(10)} raw ${kb(f.gzip).padStart(10)} gzip ${kb(f.brotli).padStart(10)} br${f.initial ? '' : '  (on demand)'}\n`,
    );
}
writeFileSync(
  join(repo, 'bench/bundle-size.json'),
  `${JSON.stringify({ measuredAt: new Date().toISOString(), ...result }, null, 2)}\n`,
);
