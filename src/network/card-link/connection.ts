import { Socket } from 'node:net';
import type { Logger } from 'pino';
import { NetworkUnavailableError } from '../port.js';

/**
 * One persistent TCP connection to the acquirer host: length-prefixed frames, requests matched to
 * answers by a key (terminal + STAN + answer MTI) and then by the answer's own identity (what it
 * echoes of the request), a timeout per request, and reconnection with exponential back-off. What
 * goes inside a frame is the caller's business (ISO 8583 here).
 */
export class AnswerTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnswerTimeoutError';
  }
}

export interface FrameCodec<M> {
  /** Whole frame bytes, length prefix included. */
  toFrame(message: M): Buffer;
  /** Feed bytes; returns complete messages (or throws on a broken stream). */
  push(chunk: Buffer): M[];
  reset(): void;
  /** The key an answer to `request` will carry, and the key of an incoming answer. */
  requestKey(request: M): string;
  answerKey(answer: M): string;
  /**
   * Whether `answer`, which carries the key of `request`, answers that very request: a trace number
   * that came round again must never pair a late answer to an older request with a new one.
   */
  answers(request: M, answer: M): boolean;
}

interface Pending<M> {
  request: M;
  resolve: (m: M) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ConnectionOptions<M> {
  host: string;
  port: number;
  codec: FrameCodec<M>;
  log: Logger;
  /** Called after every (re)connect, e.g. to sign in. */
  onConnect?: () => Promise<void>;
  maxBackoffMs?: number;
  maxPending?: number;
}

export class HostConnection<M> {
  private socket: Socket | null = null;
  private connected = false;
  /** The host closed its side: the socket is still ours until it closes, but nothing will answer. */
  private hostHungUp = false;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private attempts = 0;
  private readonly pending = new Map<string, Pending<M>>();
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ConnectionOptions<M>) {}

  get isConnected(): boolean {
    return this.connected && !this.hostHungUp;
  }

  start(): void {
    void this.ensure().catch(() => undefined);
  }

  /** Connect if needed; rejects with NetworkUnavailableError when the host cannot be reached. */
  ensure(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.closed) return Promise.reject(new NetworkUnavailableError('link closed'));
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      const fail = (err: Error) => {
        socket.destroy();
        reject(
          new NetworkUnavailableError(
            `acquirer host ${this.opts.host}:${this.opts.port} unreachable: ${err.message}`,
          ),
        );
      };
      socket.once('error', fail);
      socket.connect(this.opts.port, this.opts.host, () => {
        socket.off('error', fail);
        this.socket = socket;
        this.connected = true;
        this.hostHungUp = false;
        this.attempts = 0;
        this.opts.codec.reset();
        socket.on('data', (chunk) => this.onData(chunk));
        socket.on('error', (err) => this.opts.log.warn({ err: err.message }, 'acquirer link error'));
        // The host hung up: no answer can come any more, even before the socket is fully closed.
        socket.on('end', () => {
          this.hostHungUp = true;
        });
        socket.on('close', () => this.onClose());
        this.opts.log.info({ host: this.opts.host, port: this.opts.port }, 'acquirer link up');
        const after = this.opts.onConnect?.() ?? Promise.resolve();
        after.then(resolve, (err: Error) => {
          this.opts.log.warn({ err: err.message }, 'sign-in after connect failed');
          socket.destroy();
          reject(err instanceof NetworkUnavailableError ? err : new NetworkUnavailableError(err.message));
        });
      });
    });
  }

  private onData(chunk: Buffer): void {
    let messages: M[];
    try {
      messages = this.opts.codec.push(chunk);
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'broken frame from acquirer; reconnecting');
      this.socket?.destroy();
      return;
    }
    for (const m of messages) {
      const key = this.opts.codec.answerKey(m);
      const p = this.pending.get(key);
      if (!p) {
        this.opts.log.warn({ key }, 'late or unknown answer from acquirer ignored');
        continue;
      }
      if (!this.opts.codec.answers(p.request, m)) {
        this.opts.log.warn({ key }, 'answer to another request with the same trace number ignored');
        continue;
      }
      clearTimeout(p.timer);
      this.pending.delete(key);
      p.resolve(m);
    }
  }

  private onClose(): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.socket = null;
    for (const [key, p] of this.pending) {
      clearTimeout(p.timer);
      // Sent but unanswered: the caller must treat it like a timeout (the host may have applied it).
      p.reject(new AnswerTimeoutError(`link dropped before the answer to ${key}`));
    }
    this.pending.clear();
    if (wasConnected) this.opts.log.warn('acquirer link down');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = Math.min(this.opts.maxBackoffMs ?? 10_000, 200 * 2 ** Math.min(this.attempts++, 8));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.ensure().catch(() => this.scheduleReconnect());
    }, delay);
  }

  /**
   * Send a request and wait for its answer. NetworkUnavailableError: nothing was sent.
   * AnswerTimeoutError: it was sent and may have been applied — the caller reverses or repeats.
   */
  async request(message: M, timeoutMs: number): Promise<M> {
    await this.ensure();
    const socket = this.socket;
    if (!socket || !this.connected) throw new NetworkUnavailableError('acquirer link down');
    if (this.pending.size >= (this.opts.maxPending ?? 256))
      throw new NetworkUnavailableError('too many requests in flight');
    const key = this.opts.codec.requestKey(message);
    if (this.pending.has(key)) throw new Error(`a request with key ${key} is already waiting`);
    const frame = this.opts.codec.toFrame(message);
    return new Promise<M>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new AnswerTimeoutError(`no answer to ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, { request: message, resolve, reject, timer });
      socket.write(frame);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new AnswerTimeoutError('link closed'));
    }
    this.pending.clear();
    this.socket?.destroy();
    this.connected = false;
  }
}
