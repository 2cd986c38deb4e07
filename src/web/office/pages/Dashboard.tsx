import { useMemo, useState } from 'preact/hooks';
import type { RefundReport, ReportBucket, WorkReport } from '../../shared/api';
import { q } from '../../shared/api';
import { ErrorBox } from '../../shared/components';
import { formatBp, formatFen } from '../../shared/money';
import { dayIn, formatAge } from '../../shared/time';
import { useOffice } from '../app-context';
import { Chart, type ChartOption } from '../components/Chart';
import { DayRangeFields, PageHead, useLoad } from '../components/common';
import { hasKey, type MessageKey, useI18n } from '../i18n';

const DAY_MS = 86_400_000;

/** The merchant's day `days` before today (report ranges are merchant calendar days). */
function daysAgo(timeZone: string, days: number): string {
  return dayIn(timeZone, new Date(Date.now() - days * DAY_MS));
}

const PALETTE = ['#0b5fd1', '#12805c', '#a35a00', '#c62828', '#6a3fb5', '#00838f', '#5b6675'];

/**
 * 经营概览: refunds per day with the refund rate, by reason, operator and method, and the work
 * waiting — all from GET /v1/reports/refunds and /v1/reports/work, in the merchant's days.
 */
export function DashboardPage() {
  const { api, timeZone, go } = useOffice();
  const { t, lang } = useI18n();
  const [range, setRange] = useState(() => ({ from: daysAgo(timeZone, 29), to: dayIn(timeZone) }));
  const [draft, setDraft] = useState(range);

  const report = useLoad(
    () => api.get<RefundReport>(`/v1/reports/refunds${q({ from: range.from, to: range.to })}`),
    [range.from, range.to],
  );
  const work = useLoad(() => api.get<WorkReport>('/v1/reports/work'), []);

  const label = (prefix: string, key: string): string => {
    const k = `${prefix}.${key}`;
    return hasKey(k) ? t(k as MessageKey) : key;
  };

  const r = report.data;
  const charts = useMemo(() => (r ? chartOptions(r, label, t) : null), [r, lang]);

  return (
    <section class="dashboard">
      <PageHead title={t('dashTitle')}>
        <form
          class="range"
          onSubmit={(e) => {
            e.preventDefault();
            setRange(draft);
          }}
        >
          <DayRangeFields value={draft} onChange={setDraft} />
          <button type="submit" class="btn btn-primary">
            {t('apply')}
          </button>
        </form>
      </PageHead>
      <ErrorBox error={report.error ?? work.error} />

      <div class="kpis">
        <Kpi
          label={t('refundsAmount')}
          value={r ? formatFen(r.totals.refundAmount) : '…'}
          testId="kpi-refunds"
        />
        <Kpi label={t('refundsCount')} value={r ? String(r.totals.refundCount) : '…'} />
        <Kpi label={t('salesAmount')} value={r ? formatFen(r.totals.salesAmount) : '…'} />
        <Kpi
          label={t('refundRate')}
          hint={t('refundRateHint')}
          value={r ? formatBp(r.totals.refundRateBp) : '…'}
          testId="kpi-rate"
        />
      </div>

      <section class="work" aria-label={t('workWaiting')}>
        <h2>{t('workWaiting')}</h2>
        <div class="kpis">
          <Kpi
            label={t('queueLength')}
            value={work.data ? String(work.data.queue.requested + work.data.queue.underReview) : '…'}
            hint={
              work.data?.queue.oldestCreatedAt
                ? t('oldestWaiting', {
                    age: formatAge((Date.now() - Date.parse(work.data.queue.oldestCreatedAt)) / 1000, lang),
                  })
                : undefined
            }
            testId="kpi-queue"
            onClick={() => go('queue')}
          />
          <Kpi label={t('delayedRefunds')} value={work.data ? String(work.data.delayed) : '…'} />
          <Kpi label={t('failedToday')} value={work.data ? String(work.data.failedToday) : '…'} />
          <Kpi label={t('deadOutbox')} value={work.data ? String(work.data.deadOutbox) : '…'} />
        </div>
      </section>

      {charts ? (
        <div class="charts">
          <section class="panel wide">
            <h2>{t('perDay')}</h2>
            <Chart option={charts.perDay} label={t('perDay')} height={300} />
          </section>
          <section class="panel">
            <h2>{t('byReason')}</h2>
            {r && r.byReason.length > 0 ? (
              <Chart option={charts.byReason} label={t('byReason')} />
            ) : (
              <p class="muted">{t('noData')}</p>
            )}
          </section>
          <section class="panel">
            <h2>{t('byMethod')}</h2>
            {r && r.byMethod.length > 0 ? (
              <Chart option={charts.byMethod} label={t('byMethod')} />
            ) : (
              <p class="muted">{t('noData')}</p>
            )}
          </section>
          <section class="panel">
            <h2>{t('byOperator')}</h2>
            {r && r.byOperator.length > 0 ? (
              <Chart option={charts.byOperator} label={t('byOperator')} />
            ) : (
              <p class="muted">{t('noData')}</p>
            )}
          </section>
        </div>
      ) : null}
    </section>
  );
}

function Kpi({
  label,
  value,
  hint,
  testId,
  onClick,
}: {
  label: string;
  value: string;
  hint?: string | undefined;
  testId?: string;
  onClick?: () => void;
}) {
  const body = (
    <>
      <span class="kpi-label">{label}</span>
      <strong class="kpi-value" data-testid={testId}>
        {value}
      </strong>
      {hint ? <span class="kpi-hint muted">{hint}</span> : null}
    </>
  );
  return onClick ? (
    <button type="button" class="kpi kpi-link" onClick={onClick}>
      {body}
    </button>
  ) : (
    <div class="kpi">{body}</div>
  );
}

function chartOptions(
  r: RefundReport,
  label: (prefix: string, key: string) => string,
  t: (key: MessageKey) => string,
): Record<'perDay' | 'byReason' | 'byMethod' | 'byOperator', ChartOption> {
  const money = (v: number) => formatFen(v);
  const pie = (buckets: ReportBucket[], prefix: string): ChartOption => ({
    color: PALETTE,
    tooltip: { trigger: 'item', valueFormatter: money },
    legend: { bottom: 0, type: 'scroll' },
    series: [
      {
        type: 'pie',
        radius: ['40%', '68%'],
        center: ['50%', '44%'],
        label: { formatter: '{b}\n{d}%' },
        data: buckets.map((b) => ({ name: label(prefix, b.key), value: b.amount })),
      },
    ],
  });
  return {
    perDay: {
      color: PALETTE,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 80, right: 70, top: 36, bottom: 30 },
      xAxis: { type: 'category', data: r.days.map((d) => d.day.slice(5)) },
      yAxis: [
        { type: 'value', axisLabel: { formatter: money } },
        // basis points on the axis, shown as percent text: no float ever carries the rate
        { type: 'value', axisLabel: { formatter: (v: number) => formatBp(v) }, splitLine: { show: false } },
      ],
      series: [
        {
          name: t('refundsAmount'),
          type: 'bar',
          data: r.days.map((d) => d.refundAmount),
          tooltip: { valueFormatter: money },
        },
        {
          name: t('refundRate'),
          type: 'line',
          yAxisIndex: 1,
          data: r.days.map((d) => d.refundRateBp),
          tooltip: { valueFormatter: (v: number | null) => formatBp(v) },
        },
      ],
    },
    byReason: pie(r.byReason, 'reason'),
    byMethod: pie(r.byMethod, 'refundMethod'),
    byOperator: {
      color: [PALETTE[0]],
      tooltip: { trigger: 'axis', valueFormatter: money },
      grid: { left: 60, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value', axisLabel: { formatter: money } },
      yAxis: { type: 'category', data: r.byOperator.map((b) => b.key) },
      series: [{ type: 'bar', data: r.byOperator.map((b) => b.amount) }],
    },
  };
}
