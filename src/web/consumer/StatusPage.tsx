import type { Tracking } from '../shared/api';
import { Amount, Facts } from '../shared/components';
import { formatFen } from '../shared/money';
import { formatDate, formatDateTime } from '../shared/time';
import {
  ItemList,
  isLinkProblem,
  Loading,
  MerchantHead,
  ProblemPage,
  RouteText,
  Shell,
  zoneOf,
} from './components';
import { useI18n } from './i18n';
import { Stepper } from './Stepper';
import { FINAL_STAGES, useTracking } from './tracking';

/**
 * A refund's status page (`/t/<token>`): where it stands, when the money should arrive, the
 * numbers the consumer's bank can trace, the goods, the history and the voucher. It updates itself.
 */
export function StatusPage({ token }: { token: string }) {
  const { t, lang } = useI18n();
  const { view, error, stale, retry } = useTracking(token);
  if (!view) {
    if (!error) return <Loading />;
    return <ProblemPage error={error} onRetry={isLinkProblem(error) ? undefined : retry} />;
  }
  return (
    <Shell title={t('statusTitle')}>
      <MerchantHead name={view.merchant.name} sub={`${t('orderNo')} ${view.orderNo}`} />
      <StageCard view={view} />
      <section class="card">
        <Stepper view={view} />
      </section>
      <Details view={view} />
      <section class="card">
        <h2 class="card-title">{t('items')}</h2>
        <ItemList items={view.items} />
      </section>
      <History view={view} />
      <a
        class="btn btn-secondary btn-block"
        data-testid="voucher-link"
        href={`/v1/track/${encodeURIComponent(token)}/voucher?format=html&lang=${lang}`}
        download
      >
        {t('voucher')}
      </a>
      <p class={stale ? 'live live-stale' : 'live'} role="status" data-testid="live">
        {stale ? t('reconnecting') : FINAL_STAGES.has(view.stage) ? '' : t('live')}
      </p>
    </Shell>
  );
}

function StageCard({ view }: { view: Tracking }) {
  const { t, lang } = useI18n();
  const tone = view.stage === 'refunded' ? 'ok' : FINAL_STAGES.has(view.stage) ? 'bad' : 'wait';
  return (
    <section class={`card stage-card stage-${tone}`} aria-live="polite">
      <div class="stage-icon" aria-hidden="true">
        {tone === 'ok' ? '✓' : tone === 'bad' ? '✕' : '…'}
      </div>
      <h2 class="stage-title" data-testid="stage" data-stage={view.stage}>
        {t(`stage.${view.stage}`)}
      </h2>
      <p class="stage-hint">{t(`hint.${view.stage}`)}</p>
      {view.note ? (
        <p class="stage-note" data-testid="merchant-note">
          <span class="muted">{t('merchantNote')}：</span>
          {view.note}
        </p>
      ) : null}
      <div class="total">
        <Amount fen={view.netAmount} />
      </div>
      {view.expectedArrival ? (
        <p class="stage-arrival">
          {t('arrivalBy', { date: formatDate(view.expectedArrival, zoneOf(view), lang) })}
        </p>
      ) : null}
    </section>
  );
}

function Details({ view }: { view: Tracking }) {
  const { t, lang } = useI18n();
  const rows: [string, preact.ComponentChildren, string?][] = [
    [t('refundNo'), <span class="mono">{view.refundId}</span>, 'refund-no'],
    [
      t('networkRef'),
      view.networkReference ? (
        <span class="mono">{view.networkReference}</span>
      ) : (
        <span class="muted">{t(FINAL_STAGES.has(view.stage) ? 'none' : 'notYet')}</span>
      ),
      'network-ref',
    ],
  ];
  if (view.expectedArrival)
    rows.push([
      t('expectedArrival'),
      formatDate(view.expectedArrival, zoneOf(view), lang),
      'expected-arrival',
    ]);
  rows.push([
    t('refundTo'),
    <RouteText method={view.route.method} paid={view.route.paymentMethod} last4={view.route.last4} />,
  ]);
  rows.push([t('refundAmount'), formatFen(view.amount), 'amount']);
  if (view.netAmount !== view.amount) {
    rows.push([t('fee'), formatFen(view.amount - view.netAmount), 'fee']);
    rows.push([t('netAmount'), formatFen(view.netAmount), 'net-amount']);
  }
  return (
    <section class="card card-flush">
      <Facts rows={rows} />
      {view.networkReference ? <p class="muted hint">{t('networkRefHint')}</p> : null}
    </section>
  );
}

function History({ view }: { view: Tracking }) {
  const { t, lang } = useI18n();
  const zone = zoneOf(view);
  return (
    <section class="card">
      <h2 class="card-title">{t('historyTitle')}</h2>
      <ol class="history" data-testid="history">
        {[...view.history].reverse().map((h) => (
          <li key={`${h.stage}-${h.at}`} class="history-entry" data-stage={h.stage}>
            <span class="history-stage">{t(`stage.${h.stage}`)}</span>
            <time class="history-at" dateTime={h.at}>
              {formatDateTime(h.at, zone, lang)}
            </time>
          </li>
        ))}
      </ol>
    </section>
  );
}
