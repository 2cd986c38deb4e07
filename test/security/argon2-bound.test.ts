/**
 * Password hashing is bounded: argon2 runs off the event loop, at most ARGON2_CONCURRENCY hashes at
 * once, the rest wait; every verification still gets its own right answer.
 */
import { describe, expect, it } from 'vitest';
import { ARGON2_CONCURRENCY, argon2Load, hashPassword, verifyPassword } from '../../src/security.js';

describe('bounded argon2', () => {
  it('runs at most ARGON2_CONCURRENCY hashes at once, keeps the event loop free, and answers each', async () => {
    const hash = await hashPassword('right-password');
    const n = ARGON2_CONCURRENCY * 4;
    let peak = 0;
    let ticks = 0;
    // The event loop keeps turning while hashes run: argon2 is on the thread pool.
    const ticker = setInterval(() => {
      ticks++;
      peak = Math.max(peak, argon2Load().running);
    }, 1);
    const finished: number[] = [];
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        verifyPassword(hash, i % 2 === 0 ? 'right-password' : 'wrong').then((ok) => {
          finished.push(i);
          return ok;
        }),
      ),
    );
    clearInterval(ticker);
    expect(results).toEqual(Array.from({ length: n }, (_, i) => i % 2 === 0));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(ARGON2_CONCURRENCY);
    expect(ticks).toBeGreaterThan(5);
    expect(argon2Load()).toEqual({ running: 0, waiting: 0 });
    expect(finished).toHaveLength(n);
  });

  it('queues a burst instead of starting it all at once', async () => {
    const hash = await hashPassword('pw');
    const burst = Array.from({ length: ARGON2_CONCURRENCY + 3 }, () => verifyPassword(hash, 'pw'));
    // Synchronously after the calls: the slots are full and three wait.
    await Promise.resolve();
    expect(argon2Load().running).toBe(ARGON2_CONCURRENCY);
    expect(argon2Load().waiting).toBe(3);
    expect(await Promise.all(burst)).toEqual(Array(ARGON2_CONCURRENCY + 3).fill(true));
  });
});
