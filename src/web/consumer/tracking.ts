import { useEffect, useState } from 'preact/hooks';
import { request, type Tracking, type TrackingStage } from '../shared/api';
import { asLinkProblem, isLinkProblem } from './components';

/** How often the status page asks (a 304 when nothing changed: a few hundred bytes). */
export const POLL_MS = 5_000;
/** After failures the wait doubles up to this (the consumer API is rate-limited per address). */
const MAX_BACKOFF_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** Stages after which nothing the page shows changes again: polling stops. */
export const FINAL_STAGES: ReadonlySet<TrackingStage> = new Set([
  'refunded',
  'rejected',
  'failed',
  'canceled',
]);

/**
 * The next version of a refund, or null when it is unchanged (304 for our ETag). The shared
 * `request` cannot send If-None-Match, and a 304 is not an error here; any failure is only a
 * reason to try again later, so no problem is parsed.
 */
async function poll(path: string, etag: string): Promise<{ view: Tracking; etag: string } | null> {
  const res = await fetch(path, {
    headers: { accept: 'application/json', 'if-none-match': etag },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (res.status === 304) return null;
  if (!res.ok) throw new Error(`tracking poll answered ${res.status}`);
  const view = (await res.json()) as Tracking;
  return { view, etag: res.headers.get('etag') ?? `"${view.version}"` };
}

export interface TrackingState {
  view: Tracking | null;
  /** Why there is no view (the first load failed). */
  error: unknown;
  /** A view is shown but the last update failed: the page says it is reconnecting. */
  stale: boolean;
  retry(): void;
}

/**
 * A refund's status, kept current without reloading: the first load through the shared client
 * (its problem, if any, explained), then a conditional GET every few seconds, paused while the
 * page is hidden and stopped once the refund reached a final stage.
 */
export function useTracking(token: string): TrackingState {
  const [view, setView] = useState<Tracking | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [stale, setStale] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const path = `/v1/track/${encodeURIComponent(token)}`;
    let current: { view: Tracking; etag: string } | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let failures = 0;
    let alive = true;
    const finished = () => current !== null && FINAL_STAGES.has(current.view.stage);

    const schedule = () => {
      if (!alive || finished() || document.hidden) return;
      timer = setTimeout(tick, Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** failures));
    };
    const tick = async () => {
      timer = undefined;
      if (running) return;
      running = true;
      try {
        const next = current
          ? await poll(path, current.etag)
          : await request<Tracking>('GET', path).then((v) => ({ view: v, etag: `"${v.version}"` }));
        if (!alive) return;
        failures = 0;
        setStale(false);
        if (next) {
          current = next;
          setView(next.view);
          setError(null);
        }
      } catch (err) {
        if (!alive) return;
        failures += 1;
        if (current) setStale(true);
        else {
          const shown = asLinkProblem(err, 'tracking_link_invalid');
          setError(shown);
          if (isLinkProblem(shown)) return;
        }
      } finally {
        running = false;
      }
      schedule();
    };
    const onVisibility = () => {
      if (!document.hidden && timer === undefined && !running && !finished()) void tick();
    };
    document.addEventListener('visibilitychange', onVisibility);
    void tick();
    return () => {
      alive = false;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [token, attempt]);

  return { view, error, stale, retry: () => setAttempt((n) => n + 1) };
}
