import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Page, q } from '../../shared/api';
import { ErrorBox } from '../../shared/components';
import { useOffice } from '../app-context';
import { hasKey, useI18n } from '../i18n';

/** A page's title row with its actions on the right. */
export function PageHead({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-head">
      <h1>{title}</h1>
      {children ? <div class="page-actions">{children}</div> : null}
    </header>
  );
}

/** A status chip: the words for the code, coloured by the shared badge classes. */
export function StatusBadge({
  prefix,
  value,
}: {
  prefix: 'status' | 'pay' | 'return' | 'inspection';
  value: string;
}) {
  const { t } = useI18n();
  const key = `${prefix}.${value}`;
  return <span class={`badge badge-${value}`}>{hasKey(key) ? t(key) : value}</span>;
}

/**
 * Downloads a CSV export (`/v1/exports/…`) with the session's token. The server streams it
 * (UTF-8 with BOM, RFC 4180), so the browser saves what arrives; nothing is built in the page.
 */
export function CsvButton({ path, filename }: { path: string; filename: string }) {
  const { t } = useI18n();
  const { session } = useOffice();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await fetch(path, { headers: { authorization: `Bearer ${session.token}` } });
      if (!res.ok) {
        const problem = (await res.json().catch(() => null)) as { code?: string } | null;
        throw new ApiError({ status: res.status, code: problem?.code ?? 'internal_error', ...problem });
      }
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="csv">
      <button
        type="button"
        class="btn btn-secondary"
        data-testid="export-csv"
        disabled={busy}
        onClick={download}
      >
        {busy ? t('exporting') : t('exportCsv')}
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </span>
  );
}

/** Loads once (and again when `deps` change); `reload()` fetches afresh. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

type Params = Record<string, string | number | undefined>;

/**
 * A cursor list (`{data, hasMore, nextCursor}`) read a page at a time: the first page again
 * whenever the path or its filters change (or on `reload()`), the next one on `more()`. A page
 * that arrives after the filters changed or the list reloaded is dropped, so pages of two searches
 * never mix.
 */
export function usePages<T>(path: string, params: Params) {
  const { api } = useOffice();
  const [state, setState] = useState<{ rows: T[]; cursor: string | null; loading: boolean; error: unknown }>({
    rows: [],
    cursor: null,
    loading: true,
    error: null,
  });
  const [tick, setTick] = useState(0);
  const search = q(params);
  const generation = useRef(0);
  const read = (cursor?: string) => api.get<Page<T>>(`${path}${q({ ...params, cursor })}`);
  const shown = (page: Page<T>, before: T[]) => ({
    rows: [...before, ...page.data],
    cursor: page.hasMore ? page.nextCursor : null,
    loading: false,
    error: null,
  });

  useEffect(() => {
    const mine = ++generation.current;
    setState({ rows: [], cursor: null, loading: true, error: null });
    read().then(
      (page) => mine === generation.current && setState(shown(page, [])),
      (error: unknown) => mine === generation.current && setState((s) => ({ ...s, loading: false, error })),
    );
  }, [path, search, tick]);

  const more = async () => {
    if (!state.cursor || state.loading) return;
    const mine = generation.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const page = await read(state.cursor);
      if (mine === generation.current) setState((s) => shown(page, s.rows));
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ ...s, loading: false, error }));
    }
  };
  return { ...state, more, reload: () => setTick((n) => n + 1) };
}

/** The two date fields (merchant days, YYYY-MM-DD) of a filter form. */
export function DayRangeFields<T extends { from: string; to: string }>({
  value,
  onChange,
}: {
  value: T;
  onChange: (next: T) => void;
}) {
  const { t } = useI18n();
  return (
    <>
      <label>
        {t('from')}
        <input
          type="date"
          name="from"
          value={value.from}
          onInput={(e) => onChange({ ...value, from: e.currentTarget.value })}
        />
      </label>
      <label>
        {t('to')}
        <input
          type="date"
          name="to"
          value={value.to}
          onInput={(e) => onChange({ ...value, to: e.currentTarget.value })}
        />
      </label>
    </>
  );
}
