import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, type ConsumerReturn, request } from '../shared/api';
import { Amount } from '../shared/components';
import { formatDateTime } from '../shared/time';
import {
  asLinkProblem,
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
import { ReturnForm, sentStatusPath } from './ReturnForm';

type State =
  | { kind: 'loading' }
  | { kind: 'ready'; data: ConsumerReturn }
  | { kind: 'refused'; error: unknown };

/**
 * The return page a QR opens (`/r/<token>`): the shop, the goods and the amount to check, where the
 * money goes, the shop's policy and the QR's expiry; then the form. An expired, used, tampered or
 * withdrawn link shows only what happened and what to do.
 */
export function ReturnPage({ token, onSubmitted }: { token: string; onSubmitted(path: string): void }) {
  const { t } = useI18n();
  const [state, setState] = useState<State>({ kind: 'loading' });

  const load = useCallback(() => {
    setState({ kind: 'loading' });
    request<ConsumerReturn>('GET', `/v1/consumer/returns/${encodeURIComponent(token)}`).then(
      (data) => setState({ kind: 'ready', data }),
      (error: unknown) => setState({ kind: 'refused', error: asLinkProblem(error, 'return_link_invalid') }),
    );
  }, [token]);
  useEffect(load, [load]);

  if (state.kind === 'loading') return <Loading />;
  if (state.kind === 'refused') {
    const used = state.error instanceof ApiError && state.error.code === 'return_link_used';
    const status = used ? sentStatusPath(token) : null;
    return (
      <ProblemPage error={state.error} onRetry={isLinkProblem(state.error) ? undefined : load}>
        {status ? (
          <a class="btn btn-primary btn-block" href={status} data-testid="open-status">
            {t('openStatus')}
          </a>
        ) : null}
      </ProblemPage>
    );
  }
  const { data } = state;
  return (
    <Shell title={t('returnTitle')}>
      <ReturnSummary data={data} />
      <ReturnForm
        data={data}
        token={token}
        onSubmitted={onSubmitted}
        onRefused={(error) => setState({ kind: 'refused', error })}
      />
    </Shell>
  );
}

function ReturnSummary({ data }: { data: ConsumerReturn }) {
  const { t, lang } = useI18n();
  const zone = zoneOf(data);
  return (
    <>
      <MerchantHead name={data.merchant.name} sub={`${t('orderNo')} ${data.orderNo}`} />
      <section class="card total-card">
        <div class="total-label">{t('refundAmount')}</div>
        <div class="total" data-testid="total">
          <Amount fen={data.amount} />
        </div>
        {data.fee > 0 ? (
          <div class="total-fee muted" data-testid="fee">
            {t('fee')} <Amount fen={data.fee} /> · {t('netAmount')} <Amount fen={data.netAmount} />
          </div>
        ) : null}
        <div class="total-route">
          <span class="muted">{t('refundTo')}</span>{' '}
          <RouteText method="original" paid={data.route.method} last4={data.route.last4} />
        </div>
      </section>
      <section class="card">
        <h2 class="card-title">{t('items')}</h2>
        <ItemList items={data.items} />
        <div class="row-between muted">
          <span>{t('paidAt')}</span>
          <span>{formatDateTime(data.paidAt, zone, lang)}</span>
        </div>
      </section>
      <section class="card">
        <h2 class="card-title">{t('policy')}</h2>
        <p class="policy" data-testid="policy">
          {data.policyText}
        </p>
        <p class="expires" data-testid="expires">
          {t('expiresAt', { time: formatDateTime(data.expiresAt, zone, lang) })}
        </p>
      </section>
    </>
  );
}
