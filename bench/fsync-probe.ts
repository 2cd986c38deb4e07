/**
 * The disk's ceiling for durable commits, measured directly (what `fio --rw=write --bs=4k
 * --fdatasync=1` measures), in the directory that holds the SQLite databases:
 *   overwrite  4 KiB written at the same offset, then fdatasync — the floor of a commit that
 *              rewrites a page in place;
 *   append     4 KiB appended to a growing file, then fdatasync — a write-ahead log's pattern
 *              (SQLite WAL with synchronous=FULL syncs the WAL once per commit).
 * Each runs until `ops` syncs or `maxMs`, whichever comes first; the file is removed afterwards.
 *
 * Alone: node --import tsx bench/fsync-probe.ts [dir]
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LatencySummary, summarise } from './lib.js';

export interface FsyncFigure extends LatencySummary {
  pattern: 'overwrite' | 'append';
  opsPerSec: number;
}

const BLOCK = 4096;

function run(dir: string, pattern: FsyncFigure['pattern'], ops: number, maxMs: number): FsyncFigure {
  const path = join(dir, `fsync-probe-${pattern}-${process.pid}.bin`);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(BLOCK, 0xa5);
  const latencies: number[] = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < ops && performance.now() - t0 < maxMs; i++) {
      const started = performance.now();
      writeSync(fd, block, 0, BLOCK, pattern === 'overwrite' ? 0 : i * BLOCK);
      fdatasyncSync(fd);
      latencies.push(performance.now() - started);
    }
    const elapsed = performance.now() - t0;
    return { pattern, opsPerSec: (latencies.length / elapsed) * 1000, ...summarise(latencies) };
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

export function probeFsync(dir: string, ops: number, maxMs: number): FsyncFigure[] {
  return [run(dir, 'overwrite', ops, maxMs), run(dir, 'append', ops, maxMs)];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? mkdtempSync(join(os.tmpdir(), 'refund-desk-fsync-'));
  for (const f of probeFsync(dir, 5_000, 10_000)) {
    process.stdout.write(
      `${f.pattern}: ${f.opsPerSec.toFixed(0)} syncs/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms, max ${f.maxMs.toFixed(2)} ms (${f.count})\n`,
    );
  }
}
