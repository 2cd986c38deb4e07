import { useState } from 'preact/hooks';
import type { Order, Payment, Policy } from '../../shared/api';
import { Button, ErrorBox, Facts, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { CollectRefundForm } from '../components/CollectRefund';
import { PageHead, StatusBadge, useLoad } from '../components/common';
import { refundableRows } from '../components/OrderFields';
import { useI18n } from '../i18n';

const ORDER_NO = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * 收款管理 and off-site refunds (seed 004): find the order (`?orderNo=` fills it in, the order page
 * links here), see what is still refundable per payment, and refund it for a consumer who is not
 * at the counter.
 */
export function CollectPage({ query }: { query: URLSearchParams }) {
  const { api, go } = useOffice();
  const { t } = useI18n();
  const orderNo = query.get('orderNo')?.trim() ?? '';
  const [typed, setTyped] = useState(orderNo);
  const [bad, setBad] = useState(false);
  const valid = ORDER_NO.test(orderNo);
  const order = useLoad(
    () => (valid ? api.get<Order>(`/v1/orders/${encodeURIComponent(orderNo)}`) : Promise.resolve(null)),
    [orderNo],
  );
  const policy = useLoad(() => api.get<Policy>('/v1/policy'), []);

  const find = (e: Event) => {
    e.preventDefault();
    const no = typed.trim();
    if (!ORDER_NO.test(no)) return setBad(true);
    go(`collect?orderNo=${encodeURIComponent(no)}`);
  };

  const o = order.data;
  return (
    <section class="collect-page">
      <PageHead title={t('collectTitle')} />
      <p class="muted">{t('collectHint')}</p>
      <form class="filters panel" onSubmit={find}>
        <label>
          {t('orderNo')}
          <input
            name="orderNo"
            class="orders-input-wide"
            data-testid="collect-orderNo"
            value={typed}
            maxLength={64}
            autoComplete="off"
            onInput={(e) => {
              setBad(false);
              setTyped(e.currentTarget.value);
            }}
          />
          {bad ? <span class="field-problem">{t('badOrderNo')}</span> : null}
        </label>
        <Button variant="primary" type="submit" data-testid="collect-find">
          {t('search')}
        </Button>
      </form>
      <ErrorBox error={order.error ?? policy.error} />
      {o ? (
        <CollectOrder
          key={o.orderNo}
          order={o}
          policy={policy.data}
          onOpen={() => go(`orders/${encodeURIComponent(o.orderNo)}`)}
          onRefunded={order.reload}
        />
      ) : null}
    </section>
  );
}

function CollectOrder({
  order,
  policy,
  onOpen,
  onRefunded,
}: {
  order: Order;
  policy: Policy | null;
  onOpen: () => void;
  onRefunded: () => void;
}) {
  const { timeZone } = useOffice();
  const { t, lang } = useI18n();
  const open = order.payments.filter((p) => p.refundableAmount > 0);
  const [chosen, setChosen] = useState<string | null>(open[0]?.id ?? null);
  // From every payment, not only those still open: the answer stays on screen after the last refund.
  const payment: Payment | undefined = order.payments.find((p) => p.id === chosen);
  return (
    <div class="collect-order">
      <section class="panel" data-testid="collect-order">
        <header class="page-head">
          <h2>{t('orderTitle', { orderNo: order.orderNo })}</h2>
          <button type="button" class="link-btn" data-testid="open-order" onClick={onOpen}>
            {t('openOrder')}
          </button>
        </header>
        {open.length === 0 && !payment ? <Notice kind="warn">{t('nothingRefundable')}</Notice> : null}
        {open.length > 1 ? (
          <fieldset>
            <legend>{t('choosePayment')}</legend>
            {open.map((p) => (
              <label class="check" key={p.id}>
                <input
                  type="radio"
                  name="payment"
                  value={p.id}
                  checked={p.id === chosen}
                  onChange={() => setChosen(p.id)}
                />
                {t(p.kind === 'sale' ? 'kind.sale' : 'kind.charge')} ·{' '}
                {formatDateTime(p.capturedAt, timeZone, lang)} · {t(`method.${p.method}`)} · {t('refundable')}{' '}
                {formatFen(p.refundableAmount)}
              </label>
            ))}
          </fieldset>
        ) : null}
        {payment ? (
          <div class="collect-facts">
            <Facts
              rows={[
                [t('statusCol'), <StatusBadge key="s" prefix="pay" value={payment.status} />],
                [
                  t('methodCol'),
                  `${t(`method.${payment.method}`)}${payment.card ? ` ****${payment.card.last4}` : ''}`,
                ],
                ...refundableRows(payment, t),
              ]}
            />
          </div>
        ) : null}
      </section>
      {payment ? (
        <CollectRefundForm key={payment.id} payment={payment} policy={policy} onDone={onRefunded} />
      ) : null}
    </div>
  );
}
