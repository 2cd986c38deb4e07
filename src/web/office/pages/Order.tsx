import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Order, Outcome, Payment, Policy, Refund } from '../../shared/api';
import { Button, ErrorBox, Facts } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { useOffice } from '../app-context';
import { PageHead, StatusBadge, useLoad } from '../components/common';
import { OrderAdjustDialog } from '../components/OrderAdjust';
import { OrderRefundDialog } from '../components/OrderRefund';
import { OrderReturnQrDialog } from '../components/OrderReturnQr';
import { OrderPayments, OrderRefunds, OrderRevisions, voidable } from '../components/OrderTables';
import { OrderTimeline } from '../components/OrderTimeline';
import { OrderVoidDialog } from '../components/OrderVoid';
import { useI18n } from '../i18n';

type Dialog = { kind: 'refund' | 'void'; payment: Payment } | { kind: 'adjust' | 'return' } | null;

/** Refunds whose answer is still coming from the network: the page looks again while they last. */
const MOVING: Refund['status'][] = ['approved', 'processing'];
const POLL_MS = 1_500;
const POLL_LIMIT = 80;

/**
 * 订单详情: what was paid, refunded and is still refundable; the payments, refunds and revisions;
 * the whole timeline with network messages in words; void, refund and adjust with the terminal's
 * rules and approvals, and a return QR (扫码退货) for the customer to submit a return. After an action the order is read again (and again while a
 * refund is at the network).
 */
export function OrderPage({ orderNo }: { orderNo: string }) {
  const { api, go } = useOffice();
  const { t } = useI18n();
  const [dialog, setDialog] = useState<Dialog>(null);
  const path = `/v1/orders/${encodeURIComponent(orderNo)}`;
  const order = useLoad(() => api.get<Order>(path), [path]);
  const policy = useLoad(() => api.get<Policy>('/v1/policy'), []);
  const codes = useLoad(() => api.get<{ data: Outcome[] }>('/v1/response-codes'), []);
  const outcomes = useMemo(() => new Map((codes.data?.data ?? []).map((o) => [o.code, o])), [codes.data]);
  const o = order.data;

  // While a refund is at the network its answer comes asynchronously: read the order again.
  const [polls, setPolls] = useState(0);
  const moving = o?.refunds.some((r) => MOVING.includes(r.status)) ?? false;
  useEffect(() => {
    if (!moving || order.loading || polls >= POLL_LIMIT) return;
    const timer = setTimeout(() => {
      setPolls((n) => n + 1);
      order.reload();
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [moving, order.loading, polls]);

  const afterAction = () => {
    setPolls(0);
    order.reload();
  };

  if (!o) {
    return (
      <section class="order-page">
        <PageHead title={t('orderTitle', { orderNo })}>
          <Button onClick={() => go('orders')}>{t('backToOrders')}</Button>
        </PageHead>
        {order.loading ? <p class="muted">{t('loading')}</p> : null}
        <ErrorBox error={order.error} />
      </section>
    );
  }

  const sale = o.payments.find((p) => p.kind === 'sale') ?? o.payments[0];
  const live = o.payments.filter((p) => p.status !== 'voided');
  const sum = (f: (p: Payment) => number) => live.reduce((s, p) => s + f(p), 0);
  const refundTarget = o.payments.find((p) => p.refundableAmount > 0);
  const p = policy.data;

  return (
    <section class="order-page">
      <PageHead title={t('orderTitle', { orderNo: o.orderNo })}>
        <Button
          variant="primary"
          data-testid="action-refund"
          disabled={!refundTarget || p?.refundsEnabled === false}
          onClick={() => refundTarget && setDialog({ kind: 'refund', payment: refundTarget })}
        >
          {t('refundAction')}
        </Button>
        <Button
          variant="danger"
          data-testid="action-void"
          disabled={!sale || !voidable(sale)}
          onClick={() => sale && setDialog({ kind: 'void', payment: sale })}
        >
          {t('voidAction')}
        </Button>
        <Button
          data-testid="order-return-qr"
          disabled={!sale || sale.items.length === 0 || !refundTarget || p?.refundsEnabled === false}
          onClick={() => setDialog({ kind: 'return' })}
        >
          {t('returnQrAction')}
        </Button>
        <Button data-testid="action-adjust" onClick={() => setDialog({ kind: 'adjust' })}>
          {t('adjustAction')}
        </Button>
        <Button
          data-testid="action-collect"
          disabled={!refundTarget}
          onClick={() => go(`collect?orderNo=${encodeURIComponent(o.orderNo)}`)}
        >
          {t('offsiteAction')}
        </Button>
        <Button onClick={afterAction}>{t('refresh')}</Button>
      </PageHead>
      <ErrorBox error={order.error ?? policy.error} />

      <div class="order-summary" data-testid="order-summary">
        <Facts
          rows={[
            [
              t('statusCol'),
              sale ? <StatusBadge key="s" prefix="pay" value={sale.status} /> : '—',
              'order-status',
            ],
            [t('currentAmount'), formatFen(o.currentAmount), 'current-amount'],
            [t('paid'), formatFen(sum((x) => x.amount)), 'paid'],
          ]}
        />
        <Facts
          rows={[
            [t('refunded'), formatFen(sum((x) => x.refundedAmount)), 'refunded'],
            [t('inFlight'), formatFen(sum((x) => x.inFlightAmount)), 'in-flight'],
            [
              t('refundable'),
              <strong key="r">{formatFen(sum((x) => x.refundableAmount))}</strong>,
              'refundable',
            ],
          ]}
        />
      </div>

      <div class="order-columns">
        <div class="order-tables">
          <h2>{t('paymentsTitle')}</h2>
          <OrderPayments
            payments={o.payments}
            onRefund={(payment) => setDialog({ kind: 'refund', payment })}
            onVoid={(payment) => setDialog({ kind: 'void', payment })}
            refundsOn={p?.refundsEnabled !== false}
          />
          <h2>{t('refundsTitle')}</h2>
          <OrderRefunds refunds={o.refunds} outcomes={outcomes} />
          {o.revisions.length > 0 ? (
            <>
              <h2>{t('revisionsTitle')}</h2>
              <OrderRevisions revisions={o.revisions} />
            </>
          ) : null}
        </div>
        <section class="panel order-timeline-panel" aria-label={t('timelineTitle')}>
          <h2>{t('timelineTitle')}</h2>
          <OrderTimeline entries={o.timeline} truncated={o.timelineTruncated} outcomes={outcomes} />
        </section>
      </div>

      {dialog?.kind === 'refund' ? (
        <OrderRefundDialog
          key={`refund-${dialog.payment.id}`}
          payment={dialog.payment}
          policy={p}
          onClose={() => setDialog(null)}
          onDone={afterAction}
        />
      ) : null}
      {dialog?.kind === 'void' ? (
        <OrderVoidDialog
          payment={dialog.payment}
          onClose={() => setDialog(null)}
          onDone={afterAction}
          onRefundInstead={() => setDialog({ kind: 'refund', payment: dialog.payment })}
        />
      ) : null}
      {dialog?.kind === 'return' ? (
        <OrderReturnQrDialog order={o} onClose={() => setDialog(null)} onDone={afterAction} />
      ) : null}
      {dialog?.kind === 'adjust' ? (
        <OrderAdjustDialog order={o} policy={p} onClose={() => setDialog(null)} onDone={afterAction} />
      ) : null}
      <span class="sr-only" aria-live="polite">
        {order.loading ? t('loading') : ''}
      </span>
    </section>
  );
}
