import type { Logger } from 'pino';
import { currentKey, type Secrets } from '../security.js';
import { RESEAL_BATCH_ROWS, Resealer } from '../service/keys.js';
import type { Store } from '../store/db.js';

export interface ResealJobOptions {
  store: Store;
  secrets: Secrets;
  log: Logger;
  /** One batch per tick. */
  intervalMs: number;
  batchRows?: number;
  /** After a clean pass, look again this often even if the ring did not change. */
  idleRescanMs?: number;
  clock?: () => Date;
}

const IDLE_RESCAN_MS = 10 * 60_000;

/**
 * The background half of key rotation: every `intervalMs` one batch of rows still sealed under an
 * old data key is sealed again under the current one (service/keys.ts Resealer). Once a whole pass
 * finds nothing, the job idles until the ring's current key changes (a rotation was picked up) or
 * `idleRescanMs` has passed. Several workers may run it at once: each row is re-sealed by one.
 */
export class ResealJob {
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly idleRescanMs: number;
  private resealer: Resealer;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  /** The current key id when the last clean pass ended, and when. */
  private cleanFor: { keyId: string; at: number } | null = null;
  private resealedInPasses = 0;

  constructor(private readonly opts: ResealJobOptions) {
    this.log = opts.log.child({ component: 'reseal' });
    this.clock = opts.clock ?? (() => new Date());
    this.idleRescanMs = opts.idleRescanMs ?? IDLE_RESCAN_MS;
    this.resealer = new Resealer(opts.store, opts.secrets, opts.batchRows ?? RESEAL_BATCH_ROWS);
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((err) =>
          this.log.warn({ err: (err as Error).message }, 're-seal batch failed; retried next tick'),
        )
        .finally(() => this.schedule());
    }, this.opts.intervalMs);
  }

  /** One batch, unless idle. Returns the rows re-sealed. */
  async tick(): Promise<number> {
    const keyId = currentKey(this.opts.secrets.data).id;
    const now = this.clock().getTime();
    if (this.cleanFor?.keyId === keyId && now - this.cleanFor.at < this.idleRescanMs) return 0;
    if (this.cleanFor && this.cleanFor.keyId !== keyId) {
      // A new current key: start the pass from the top.
      this.resealer = new Resealer(
        this.opts.store,
        this.opts.secrets,
        this.opts.batchRows ?? RESEAL_BATCH_ROWS,
      );
      this.cleanFor = null;
    }
    const step = await this.resealer.step();
    this.resealedInPasses += step.resealed;
    for (const f of step.failed)
      this.log.warn({ column: f.column, id: f.id, code: f.code }, 'a sealed value cannot be re-sealed');
    if (step.clean) {
      if (this.resealedInPasses > 0)
        this.log.info(
          { keyId, resealed: this.resealedInPasses },
          'every sealed value is under the current key',
        );
      this.resealedInPasses = 0;
      this.cleanFor = { keyId, at: now };
    }
    return step.resealed;
  }
}
