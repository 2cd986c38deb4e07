import { useEffect, useState } from 'preact/hooks';
import type { Order, Page, Payment } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { useApp } from '../app-context';
import { PaymentRow, shortTime } from '../components/FindPayment';
import { ReceiptDialog } from '../components/Receipt';
import { Button, ErrorBox, useEscape } from '../components/ui';
import { useI18n } from '../i18n';
import { PaymentFacts } from './Refund';

/** 交易查询: payments newest first; tap one for its reverse history (refunds, void, amount changes). */
export function TransactionsScreen() {
  const { api, go } = useApp();
  const { t } = useI18n();
  const [payments, setPayments] = useState<Payment[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<Payment | null>(null);

  const load = async (after: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.get<Page<Payment>>(`/v1/payments?limit=20${after ? `&cursor=${after}` : ''}`);
      setPayments((prev) => (after ? [...prev, ...page.data] : page.data));
      setCursor(page.hasMore ? page.nextCursor : null);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void load(null);
  }, []);

  useEscape(open ? () => setOpen(null) : () => go({ name: 'home' }));

  if (open) return <PaymentDetail payment={open} onBack={() => setOpen(null)} />;

  return (
    <div class="flow">
      <h2>{t('txTitle')}</h2>
      <ErrorBox error={error} />
      <div class="rows" data-testid="tx-list">
        {payments.map((p) => (
          <PaymentRow key={p.id} p={p} onPick={setOpen} showRefundable />
        ))}
      </div>
      {loading ? <p class="muted">{t('loading')}</p> : null}
      {cursor && !loading ? <Button onClick={() => void load(cursor)}>{t('more')}</Button> : null}
    </div>
  );
}

function PaymentDetail({ payment, onBack }: { payment: Payment; onBack: () => void }) {
  const { api, go } = useApp();
  const { t } = useI18n();
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [printing, setPrinting] = useState<string | null>(null);

  useEffect(() => {
    api
      .get<Order>(`/v1/orders/${encodeURIComponent(payment.orderNo)}`)
      .then(setOrder)
      .catch(setError);
  }, [api, payment.orderNo]);

  const current = order?.payments.find((p) => p.id === payment.id) ?? payment;
  const refunds = order?.refunds.filter((r) => r.paymentId === payment.id) ?? [];

  return (
    <div class="flow" data-testid="tx-detail">
      <h2>{t('txDetail')}</h2>
      <div class="two-col">
        <div>
          <PaymentFacts payment={current} />
          <div class="actions">
            <Button onClick={onBack}>{t('back')}</Button>
            {current.refundableAmount > 0 ? (
              <Button variant="primary" onClick={() => go({ name: 'refund', payment: current })}>
                {t('refund')}
              </Button>
            ) : null}
          </div>
        </div>
        <div>
          <h3>{t('reverseHistory')}</h3>
          <ErrorBox error={error} />
          {current.status === 'voided' ? <p class="badge badge-voided">{t('pay.voided')}</p> : null}
          {order && refunds.length === 0 ? <p class="muted">{t('noRefunds')}</p> : null}
          <ul class="history" data-testid="refund-history">
            {refunds.map((r) => (
              <li key={r.id} class={`history-row status-${r.status}`} data-refund={r.id}>
                <span class="row-main">
                  <strong>{formatFen(r.amount)}</strong>
                  <span class="muted">
                    {shortTime(r.createdAt)} · {t(`reason.${r.reason.code}`)}
                  </span>
                </span>
                <span class="row-side">
                  <span class={`badge badge-${r.status}`}>{t(`status.${r.status}`)}</span>
                  {r.status === 'succeeded' ? (
                    <Button variant="ghost" onClick={() => setPrinting(r.id)}>
                      {t('reprint')}
                    </Button>
                  ) : null}
                </span>
              </li>
            ))}
          </ul>
          {order && order.revisions.length > 0 ? (
            <>
              <h3>{t('revisions')}</h3>
              <ul class="history">
                {order.revisions.map((v) => (
                  <li key={v.revision} class="history-row">
                    <span class="row-main">
                      #{v.revision} {formatFen(v.originalAmount)} → {formatFen(v.newAmount)}
                    </span>
                    <span class="muted">{shortTime(v.createdAt)}</span>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </div>
      </div>
      {printing ? <ReceiptDialog refundId={printing} onClose={() => setPrinting(null)} /> : null}
    </div>
  );
}
