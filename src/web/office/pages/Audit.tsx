import { useMemo, useState } from 'preact/hooks';
import { type AuditEntry, type AuditVerify, q } from '../../shared/api';
import { ErrorBox } from '../../shared/components';
import { dayIn } from '../../shared/time';
import { useOffice } from '../app-context';
import { AuditEntryRow, actionText, actorText, entityText } from '../components/AuditEntryView';
import { dayRange } from '../components/AuditTime';
import { CsvButton, PageHead, useLoad } from '../components/common';
import { useI18n } from '../i18n';

interface Filters {
  actor: string;
  action: string;
  entity: string;
  day: string;
}

const fromUrl = (): Filters => {
  const s = new URLSearchParams(location.search);
  return {
    actor: s.get('actor') ?? '',
    action: s.get('action') ?? '',
    entity: s.get('entity') ?? '',
    day: s.get('day') ?? '',
  };
};

const distinct = (list: AuditEntry[], f: (e: AuditEntry) => string): string[] =>
  [...new Set(list.map(f))].sort();

/**
 * 审计日志: the merchant's latest audit entries (GET /v1/audit answers the newest 100, unfiltered),
 * narrowed here by actor, action, entity and merchant day; the hash chain's verification as a
 * banner; the CSV export (streamed by the server) with the same filters.
 */
export function AuditPage() {
  const { api, timeZone } = useOffice();
  const { t } = useI18n();
  const [filters, setFilters] = useState<Filters>(fromUrl);
  const entries = useLoad(() => api.get<{ data: AuditEntry[] }>('/v1/audit'), []);
  const verify = useLoad(() => api.get<AuditVerify>('/v1/audit/verify'), []);

  const all = entries.data?.data ?? [];
  const shown = useMemo(
    () =>
      all.filter(
        (e) =>
          (!filters.actor || e.actor === filters.actor) &&
          (!filters.action || e.action === filters.action) &&
          (!filters.entity || e.entity === filters.entity) &&
          (!filters.day || dayIn(timeZone, new Date(e.at)) === filters.day),
      ),
    [all, filters, timeZone],
  );
  const range = dayRange(filters.day, filters.day, timeZone);
  const csv = `/v1/exports/audit.csv${q({
    actor: filters.actor,
    action: filters.action,
    entity: filters.entity,
    from: range.from,
    to: range.to,
  })}`;

  const set = (k: keyof Filters, v: string) => {
    const next = { ...filters, [k]: v };
    setFilters(next);
    // The filters are in the address, so a link (from the policy page) or a reload keeps them.
    history.replaceState(null, '', `${location.pathname}${q({ ...next })}`);
  };
  const select = (k: 'actor' | 'action' | 'entity', options: string[], words: (v: string) => string) => (
    <label>
      {t(`auditFilter.${k}`)}
      <select name={k} value={filters[k]} onChange={(e) => set(k, e.currentTarget.value)}>
        <option value="">{t('auditAll')}</option>
        {[...new Set([...options, ...(filters[k] ? [filters[k]] : [])])].map((v) => (
          <option key={v} value={v}>
            {words(v)}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section class="audit">
      <PageHead title={t('nav.audit')}>
        <CsvButton path={csv} filename="audit.csv" />
        <button
          type="button"
          class="btn btn-secondary"
          onClick={() => {
            entries.reload();
            verify.reload();
          }}
        >
          {t('refresh')}
        </button>
      </PageHead>
      <VerifyBanner verify={verify.data} loading={verify.loading} />
      <ErrorBox error={verify.error ?? entries.error} />
      <form class="filters" onSubmit={(e) => e.preventDefault()} data-testid="audit-filters">
        {select(
          'actor',
          distinct(all, (e) => e.actor),
          (v) => actorText(v, t),
        )}
        {select(
          'action',
          distinct(all, (e) => e.action),
          (v) => actionText(v, t),
        )}
        {select(
          'entity',
          distinct(all, (e) => e.entity),
          (v) => entityText(v, t),
        )}
        <label>
          {t('date')}
          <input
            type="date"
            name="day"
            value={filters.day}
            onInput={(e) => set('day', e.currentTarget.value)}
          />
        </label>
        <button
          type="button"
          class="btn btn-ghost"
          onClick={() => {
            setFilters({ actor: '', action: '', entity: '', day: '' });
            history.replaceState(null, '', location.pathname);
          }}
        >
          {t('clear')}
        </button>
      </form>
      <p class="muted" data-testid="audit-count">
        {t('auditShown', { n: shown.length, total: all.length })}
      </p>
      {shown.length === 0 && !entries.loading ? <p class="empty">{t('auditEmpty')}</p> : null}
      {shown.length > 0 ? (
        <table class="grid static" data-testid="audit">
          <thead>
            <tr>
              <th class="num">{t('auditSeq')}</th>
              <th>{t('timeCol')}</th>
              <th>{t('auditFilter.actor')}</th>
              <th>{t('auditFilter.action')}</th>
              <th>{t('auditFilter.entity')}</th>
              <th>{t('auditData')}</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <AuditEntryRow key={e.seq} entry={e} timeZone={timeZone} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** The chain recomputed by the server: intact with N entries, or broken at a sequence number. */
function VerifyBanner({ verify, loading }: { verify: AuditVerify | null; loading: boolean }) {
  const { t } = useI18n();
  if (!verify) return loading ? <p class="muted">{t('auditVerifying')}</p> : null;
  return (
    <div
      class={`verify-banner ${verify.ok ? 'verify-ok' : 'verify-bad'}`}
      role={verify.ok ? 'status' : 'alert'}
      data-testid="audit-verify"
      data-ok={String(verify.ok)}
    >
      <span class="verify-icon" aria-hidden="true">
        {verify.ok ? '✓' : '!'}
      </span>
      <span>
        {verify.ok
          ? t('auditChainOk', { n: verify.entries })
          : t('auditChainBroken', { seq: verify.firstBrokenSeq ?? '?', n: verify.entries })}
      </span>
    </div>
  );
}
