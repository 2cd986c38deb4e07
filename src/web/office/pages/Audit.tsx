import { useRef, useState } from 'preact/hooks';
import { type AuditEntry, type AuditVerify, q } from '../../shared/api';
import { Button, ErrorBox } from '../../shared/components';
import { useOffice } from '../app-context';
import { AuditEntryRow } from '../components/AuditEntryView';
import { AuditFilterForm, auditFiltersFromUrl, auditQuery } from '../components/AuditFilters';
import { CsvButton, PageHead, useLoad, usePages } from '../components/common';
import { useI18n } from '../i18n';

const PAGE_SIZE = 50;

/**
 * 审计日志: the merchant's audit entries, newest first, filtered by the server (who, what, on
 * what, a day) and read 50 at a time ("load more"); the hash chain's verification as a banner;
 * the CSV export (streamed by the server) with the same filters.
 */
export function AuditPage() {
  const { api, timeZone } = useOffice();
  const { t } = useI18n();
  const [filters, setFilters] = useState(auditFiltersFromUrl);
  const query = auditQuery(filters, timeZone);
  const entries = usePages<AuditEntry>('/v1/audit', { ...query, limit: PAGE_SIZE });
  const verify = useLoad(() => api.get<AuditVerify>('/v1/audit/verify'), []);
  // Every actor met so far stays a choice, also while a filter narrows the entries shown.
  const actors = useRef(new Set<string>());
  for (const e of entries.rows) actors.current.add(e.actor);

  return (
    <section class="audit">
      <PageHead title={t('nav.audit')}>
        <CsvButton path={`/v1/exports/audit.csv${q(query)}`} filename="audit.csv" />
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
      <AuditFilterForm filters={filters} onChange={setFilters} actorsSeen={actors.current} />
      {entries.rows.length > 0 ? (
        <p class="muted" data-testid="audit-count">
          {entries.cursor
            ? t('auditShown', { n: entries.rows.length })
            : t('auditAllShown', { n: entries.rows.length })}
        </p>
      ) : null}
      {entries.rows.length === 0 && !entries.loading && !entries.error ? (
        <p class="empty">{t('auditEmpty')}</p>
      ) : null}
      {entries.rows.length > 0 ? (
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
            {entries.rows.map((e) => (
              <AuditEntryRow key={e.seq} entry={e} timeZone={timeZone} />
            ))}
          </tbody>
        </table>
      ) : null}
      {entries.loading ? <p class="muted">{t('loading')}</p> : null}
      {entries.cursor ? (
        <div class="actions">
          <Button data-testid="load-more" disabled={entries.loading} onClick={() => void entries.more()}>
            {t('more')}
          </Button>
        </div>
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
