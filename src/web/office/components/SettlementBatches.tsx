import { useState } from 'preact/hooks';
import { type Bucket, newIdempotencyKey, type Page, q, type Settlement } from '../../shared/api';
import { Button, ErrorBox, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { dayIn, formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { type MessageKey, useI18n } from '../i18n';
import { actorText } from './AuditEntryView';
import { dayRange } from './AuditTime';
import { CsvButton, DayRangeFields, useLoad } from './common';
import { ConfirmDialog, keyAfter } from './Dialog';

const DAY_MS = 86_400_000;
const buckets = ['sales', 'voids', 'refunds'] as const;
const TERMINAL_ID = /^[0-9A-Za-z]{1,16}$/;

/**
 * Closed batches (批结算) per terminal, newest first, each with its sales, voids and refunds and
 * whether the network's totals agreed; and settling a terminal's open batch from here (asked first).
 */
export function SettlementBatches() {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const [draft, setDraft] = useState(() => ({
    terminalId: '',
    from: dayIn(timeZone, new Date(Date.now() - 6 * DAY_MS)),
    to: dayIn(timeZone),
  }));
  const [filters, setFilters] = useState(draft);
  const [open, setOpen] = useState<string | null>(null);
  const range = dayRange(filters.from, filters.to, timeZone);
  // The list and its CSV export take the same filters (GET /v1/exports/settlements.csv).
  const query = { terminalId: filters.terminalId.trim(), from: range.from, to: range.to };
  const list = useLoad(
    () => api.get<Page<Settlement>>(`/v1/settlements${q({ ...query, limit: 100 })}`),
    [filters.terminalId, filters.from, filters.to],
  );
  const rows = list.data?.data ?? [];
  const terminals = [...new Set(rows.map((r) => r.terminalId))].sort();

  return (
    <section class="panel settle-batches" aria-labelledby="batches-title">
      <div class="section-head">
        <h2 id="batches-title">{t('stlBatches')}</h2>
        <CsvButton path={`/v1/exports/settlements.csv${q(query)}`} filename="settlements.csv" />
      </div>
      <SettleTerminal
        terminals={terminals}
        initial={filters.terminalId}
        onSettled={(s) => {
          setOpen(s.id);
          list.reload();
        }}
      />
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <label>
          {t('terminal')}
          <input
            name="batchTerminal"
            value={draft.terminalId}
            maxLength={16}
            placeholder={t('stlAllTerminals')}
            list="settle-terminals"
            onInput={(e) => setDraft({ ...draft, terminalId: e.currentTarget.value })}
          />
        </label>
        <DayRangeFields value={draft} onChange={setDraft} />
        <button type="submit" class="btn btn-secondary">
          {t('apply')}
        </button>
      </form>
      <datalist id="settle-terminals">
        {terminals.map((id) => (
          <option key={id} value={id} />
        ))}
      </datalist>
      <ErrorBox error={list.error} />
      {rows.length === 0 && !list.loading && !list.error ? <p class="empty">{t('stlNoBatches')}</p> : null}
      {rows.length > 0 ? (
        <table class="grid" data-testid="settlements">
          <thead>
            <tr>
              <th>{t('terminal')}</th>
              <th class="num">{t('stlBatchNo')}</th>
              <th>{t('stlClosedAt')}</th>
              {buckets.map((b) => (
                <th key={b} class="num">
                  {t(`stlBucket.${b}`)}
                </th>
              ))}
              <th>{t('stlResult')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => [
              <tr
                key={s.id}
                data-settlement={s.id}
                data-terminal={s.terminalId}
                class={open === s.id ? 'on' : undefined}
                tabIndex={0}
                aria-expanded={open === s.id}
                onClick={() => setOpen(open === s.id ? null : s.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') setOpen(open === s.id ? null : s.id);
                }}
              >
                <td>{s.terminalId}</td>
                <td class="num">{s.batchNo}</td>
                <td>{formatDateTime(s.createdAt, timeZone, lang)}</td>
                {buckets.map((b) => (
                  <td key={b} class="num" data-bucket={b}>
                    <BucketText bucket={s.totals[b]} />
                  </td>
                ))}
                <td>
                  <Balanced balanced={s.reconciliation.balanced} />
                </td>
              </tr>,
              open === s.id ? (
                <tr key={`${s.id}-detail`} class="detail-row">
                  <td colSpan={7}>
                    <BatchDetail settlement={s} />
                  </td>
                </tr>
              ) : null,
            ])}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function BucketText({ bucket }: { bucket: Bucket }) {
  const { t } = useI18n();
  return (
    <>
      {formatFen(bucket.amount)}
      <div class="muted">{t('admItems', { n: bucket.count })}</div>
    </>
  );
}

export function Balanced({ balanced }: { balanced: boolean }) {
  const { t } = useI18n();
  return balanced ? (
    <span class="badge badge-succeeded" data-testid="balanced">
      {t('stlBalanced')}
    </span>
  ) : (
    <span class="badge badge-failed" data-testid="unbalanced">
      {t('stlUnbalanced')}
    </span>
  );
}

/** A batch's whole totals (cash too), and where our side and the network's differ. */
function BatchDetail({ settlement: s }: { settlement: Settlement }) {
  const { t } = useI18n();
  const r = s.reconciliation;
  return (
    <div class="batch-detail" data-testid="batch-detail">
      <p>
        {t('stlCashTotal')} <BucketText bucket={s.totals.cash} />
      </p>
      <p class="muted">{t('stlClosedBy', { who: actorText(s.createdBy, t) })}</p>
      {r.differences.length === 0 ? (
        <p>{r.balanced ? t('stlBalancedHint') : t('stlNoLocal')}</p>
      ) : (
        <table class="grid static">
          <thead>
            <tr>
              <th />
              <th class="num">{t('stlLocal')}</th>
              <th class="num">{t('stlNetwork')}</th>
            </tr>
          </thead>
          <tbody>
            {r.differences.map((d) => (
              <tr key={d.bucket} data-difference={d.bucket}>
                <th scope="row">{t(`stlBucket.${d.bucket}`)}</th>
                <td class="num">
                  <BucketText bucket={d.local} />
                </td>
                <td class="num">
                  <BucketText bucket={d.network} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r.balanced ? null : <Notice kind="warn">{t('stlUnbalancedHint')}</Notice>}
    </div>
  );
}

/** 结算: close a terminal's open batch with the network (POST /v1/settlements), after a confirmation. */
function SettleTerminal({
  terminals,
  initial,
  onSettled,
}: {
  terminals: string[];
  initial: string;
  onSettled: (s: Settlement) => void;
}) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [terminalId, setTerminalId] = useState(initial);
  const [problem, setProblem] = useState<MessageKey | null>(null);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<Settlement | null>(null);
  const [key, setKey] = useState(newIdempotencyKey);

  const settle = async () => {
    setBusy(true);
    setError(null);
    try {
      const s = await api.post<Settlement>('/v1/settlements', { terminalId: terminalId.trim() }, key);
      setKey(newIdempotencyKey());
      setAsking(false);
      setDone(s);
      onSettled(s);
    } catch (err) {
      setError(err);
      setKey(keyAfter(err, key));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="filters settle-now"
      data-testid="settle-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!TERMINAL_ID.test(terminalId.trim())) return setProblem('stlTerminalInvalid');
        setProblem(null);
        setDone(null);
        setError(null);
        setAsking(true);
      }}
    >
      <label>
        {t('stlSettleTerminal')}
        <input
          name="settleTerminal"
          value={terminalId}
          maxLength={16}
          list="settle-terminals"
          aria-invalid={problem ? 'true' : undefined}
          onInput={(e) => setTerminalId(e.currentTarget.value)}
        />
        {problem ? <span class="field-error">{t(problem)}</span> : null}
      </label>
      <Button variant="primary" type="submit" data-testid="settle">
        {t('stlSettle')}
      </Button>
      {done ? (
        <Notice>
          <span data-testid="settle-done">
            {t('stlSettled', { terminal: done.terminalId, batch: done.batchNo })}
          </span>{' '}
          <Balanced balanced={done.reconciliation.balanced} />
        </Notice>
      ) : null}
      {terminals.length === 0 ? null : (
        <span class="muted">{t('stlKnownTerminals', { list: terminals.join(', ') })}</span>
      )}
      {asking ? (
        <ConfirmDialog
          title={t('admConfirmTitle')}
          text={t('stlConfirmText', { terminal: terminalId.trim() })}
          confirmLabel={t('stlSettle')}
          busy={busy}
          error={error}
          onConfirm={() => void settle()}
          onCancel={() => {
            setAsking(false);
            setError(null);
          }}
        />
      ) : null}
    </form>
  );
}
