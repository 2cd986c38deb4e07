import { useState } from 'preact/hooks';
import {
  ApiError,
  type Lang,
  type Mismatch,
  newIdempotencyKey,
  type Page,
  type Reconciliation,
  type ReconciliationSummary,
} from '../../shared/api';
import { Button, ErrorBox } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { dayIn, formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { CsvButton, useLoad } from '../components/common';
import { useI18n } from '../i18n';
import { keyAfter } from './Dialog';
import { Balanced } from './SettlementBatches';

/** The API takes a settlement file of up to 16 MiB in the request (src/api/routes/reconciliation.ts). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const DAY_MS = 86_400_000;

/** The advice in the page's language; a text missing in 繁體中文 is shown in 简体中文. */
export function adviceText(m: Mismatch, lang: Lang): string {
  const text = m.advice.text as Partial<Record<Lang, string>>;
  return text[lang] || (lang === 'zh-TW' ? text['zh-CN'] : undefined) || text.en || '';
}

/**
 * 对账: the network's settlement file of a day against the ledger — uploaded from this computer or
 * fetched from the network — and every run with its mismatches, each with what to do about it.
 */
export function SettlementRecon() {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const runs = useLoad(() => api.get<Page<ReconciliationSummary>>('/v1/reconciliations?limit=50'), []);
  const [openId, setOpenId] = useState<string | null>(null);
  const rows = runs.data?.data ?? [];

  return (
    <section class="panel settle-recon" aria-labelledby="recon-title">
      <div class="section-head">
        <h2 id="recon-title">{t('reconTitle')}</h2>
      </div>
      <p class="muted">{t('reconHint')}</p>
      <ReconStart
        onDone={(r) => {
          setOpenId(r.id);
          runs.reload();
        }}
      />
      <ErrorBox error={runs.error} />
      {rows.length === 0 && !runs.loading && !runs.error ? <p class="empty">{t('reconNone')}</p> : null}
      {rows.length > 0 ? (
        <table class="grid" data-testid="reconciliations">
          <thead>
            <tr>
              <th>{t('reconDay')}</th>
              <th>{t('reconSource')}</th>
              <th class="num">{t('reconRows')}</th>
              <th class="num">{t('reconMatched')}</th>
              <th class="num">{t('reconMismatches')}</th>
              <th class="num">{t('reconInvalid')}</th>
              <th>{t('stlResult')}</th>
              <th>{t('reconRunAt')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.id}
                data-reconciliation={r.id}
                class={openId === r.id ? 'on' : undefined}
                tabIndex={0}
                onClick={() => setOpenId(r.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') setOpenId(r.id);
                }}
              >
                <td>{r.day}</td>
                <td>{t(`reconFrom.${r.source}`)}</td>
                <td class="num">{r.totals.rows}</td>
                <td class="num">{r.matched}</td>
                <td class="num">{r.mismatchCount}</td>
                <td class="num">{r.invalidRowCount}</td>
                <td>
                  <Balanced balanced={r.balanced} />
                </td>
                <td>{formatDateTime(r.createdAt, timeZone, lang)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {openId ? <ReconDetail key={openId} id={openId} /> : null}
    </section>
  );
}

/** Import a file (read here, sent as text) or fetch the network's file of a day. */
function ReconStart({ onDone }: { onDone: (r: Reconciliation) => void }) {
  const { api, timeZone } = useOffice();
  const { t } = useI18n();
  // The network's file of yesterday is the usual one: today's is not cut yet.
  const [day, setDay] = useState(() => dayIn(timeZone, new Date(Date.now() - DAY_MS)));
  const [busy, setBusy] = useState<'upload' | 'fetch' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [key, setKey] = useState(newIdempotencyKey);

  const run = async (kind: 'upload' | 'fetch', send: (k: string) => Promise<Reconciliation>) => {
    setBusy(kind);
    setError(null);
    try {
      const r = await send(key);
      setKey(newIdempotencyKey());
      onDone(r);
    } catch (err) {
      setError(err);
      setKey(keyAfter(err, key));
    } finally {
      setBusy(null);
    }
  };

  const upload = async (file: File) => {
    if (file.size > MAX_FILE_BYTES) {
      setError(new ApiError({ status: 413, code: 'validation_failed', detail: 'file larger than 16 MiB' }));
      return;
    }
    const csv = await file.text();
    await run('upload', (k) => api.post<Reconciliation>('/v1/reconciliations', { day, csv }, k));
  };

  return (
    <div class="filters recon-start" data-testid="recon-start">
      <label>
        {t('reconDay')}
        <input type="date" name="reconDay" value={day} onInput={(e) => setDay(e.currentTarget.value)} />
      </label>
      <label class={busy ? 'btn btn-secondary file disabled' : 'btn btn-secondary file'}>
        {busy === 'upload' ? t('working') : t('reconUpload')}
        <input
          type="file"
          name="settlementFile"
          accept=".csv,text/csv,text/plain"
          disabled={busy !== null || !day}
          data-testid="recon-file"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (file) void upload(file);
          }}
        />
      </label>
      <Button
        busy={busy === 'fetch'}
        disabled={busy !== null || !day}
        data-testid="recon-fetch"
        onClick={() => void run('fetch', (k) => api.post<Reconciliation>('/v1/reconciliations', { day }, k))}
      >
        {t('reconFetch')}
      </Button>
      <span class="muted">{t('reconFileHint')}</span>
      <ErrorBox error={error} />
    </div>
  );
}

/**
 * A run's totals on both sides, then every mismatch with its advice (also as CSV), then the rows
 * that did not parse.
 */
function ReconDetail({ id }: { id: string }) {
  const { api } = useOffice();
  const { t, lang } = useI18n();
  const run = useLoad(() => api.get<Reconciliation>(`/v1/reconciliations/${encodeURIComponent(id)}`), [id]);
  const r = run.data;
  if (!r) return <ErrorBox error={run.error} />;
  const sides = [
    ['reconNetworkSide', r.totals.network],
    ['reconLedgerSide', r.totals.ledger],
  ] as const;
  return (
    <section class="recon-detail" data-testid="recon-detail" aria-label={t('reconDetail', { day: r.day })}>
      <div class="section-head">
        <h3>
          {t('reconDetail', { day: r.day })} <Balanced balanced={r.balanced} />
        </h3>
        {r.mismatches.length > 0 ? (
          <CsvButton
            path={`/v1/exports/reconciliations/${encodeURIComponent(r.id)}/mismatches.csv`}
            filename={`mismatches-${r.day}.csv`}
          />
        ) : null}
      </div>
      <table class="grid static recon-totals">
        <thead>
          <tr>
            <th />
            {(['sales', 'voids', 'refunds'] as const).map((b) => (
              <th key={b} class="num">
                {t(`stlBucket.${b}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sides.map(([label, side]) => (
            <tr key={label}>
              <th scope="row">{t(label)}</th>
              {(['sales', 'voids', 'refunds'] as const).map((b) => (
                <td key={b} class="num">
                  {formatFen(side[b].amount)} <span class="muted">{t('admItems', { n: side[b].count })}</span>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {r.mismatches.length === 0 ? (
        <p>{t('reconNoMismatch')}</p>
      ) : (
        <ol class="mismatches" data-testid="mismatches">
          {r.mismatches.map((m, i) => (
            <li key={`${m.reference}-${i}`} data-mismatch={m.kind} data-advice={m.advice.code}>
              <div class="mismatch-head">
                <span class="badge badge-failed">{t(`reconMismatch.${m.kind}`)}</span>
                <span class="mono">{m.reference || '—'}</span>
                {m.networkRow ? (
                  <span>
                    {t('reconNetworkSide')} {formatFen(m.networkRow.amount)} · {m.networkRow.terminalId} ·{' '}
                    {t('reconLine', { n: m.networkRow.line })}
                  </span>
                ) : null}
                {m.ledgerRow ? (
                  <span>
                    {t('reconLedgerSide')} {formatFen(m.ledgerRow.amount)} · {m.ledgerRow.status}
                  </span>
                ) : null}
              </div>
              <p class="advice" data-testid="advice">
                {adviceText(m, lang)}
              </p>
              <p class="muted">{m.detail}</p>
            </li>
          ))}
        </ol>
      )}
      {r.invalidRowCount > 0 ? (
        <details class="invalid-rows">
          <summary>{t('reconInvalidRows', { n: r.invalidRowCount })}</summary>
          <ul>
            {r.invalidRows.map((row) => (
              <li key={row.line}>
                {t('reconLine', { n: row.line })}: {row.detail}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}
