import type { Order, Outcome, Payment, Refund } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { useI18n } from '../i18n';
import { StatusBadge } from './common';
import { actorText } from './OrderTimeline';

/** A sale can be voided while it is captured, unsettled and untouched by refunds (the server decides the day). */
export const voidable = (p: Payment) =>
  p.status === 'captured' && !p.settled && p.refundedAmount === 0 && p.inFlightAmount === 0;

/** The order's payments (the sale and any extra charges) with what is left of each, and their actions. */
export function OrderPayments({
  payments,
  onRefund,
  onVoid,
  refundsOn,
}: {
  payments: Payment[];
  onRefund: (p: Payment) => void;
  onVoid: (p: Payment) => void;
  refundsOn: boolean;
}) {
  const { timeZone } = useOffice();
  const { t, lang } = useI18n();
  return (
    <div class="order-scroll">
      <table class="grid order-grid" data-testid="payments">
        <thead>
          <tr>
            <th>{t('kindCol')}</th>
            <th>{t('timeCol')}</th>
            <th>{t('methodCol')}</th>
            <th class="num">{t('amount')}</th>
            <th class="num">{t('refunded')}</th>
            <th class="num">{t('refundable')}</th>
            <th>{t('statusCol')}</th>
            <th>{t('actions')}</th>
          </tr>
        </thead>
        <tbody>
          {payments.map((p) => (
            <tr key={p.id} data-payment={p.id}>
              <td class="order-nowrap">{t(p.kind === 'sale' ? 'kind.sale' : 'kind.charge')}</td>
              <td>{formatDateTime(p.capturedAt, timeZone, lang)}</td>
              <td>
                {t(`method.${p.method}`)}
                {p.card ? ` ****${p.card.last4}` : ''}
              </td>
              <td class="num">{formatFen(p.amount)}</td>
              <td class="num">{formatFen(p.refundedAmount)}</td>
              <td class="num">{formatFen(p.refundableAmount)}</td>
              <td>
                <StatusBadge prefix="pay" value={p.status} />
                {p.settled ? <span class="badge order-settled">{t('settled')}</span> : null}
              </td>
              <td class="order-row-actions">
                {p.refundableAmount > 0 && refundsOn ? (
                  <button type="button" class="link-btn" data-testid="row-refund" onClick={() => onRefund(p)}>
                    {t('refundAction')}
                  </button>
                ) : null}
                {voidable(p) ? (
                  <button type="button" class="link-btn" data-testid="row-void" onClick={() => onVoid(p)}>
                    {t('voidAction')}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The order's refunds: amounts, method, reason, status and the network's answer in words. */
export function OrderRefunds({ refunds, outcomes }: { refunds: Refund[]; outcomes: Map<string, Outcome> }) {
  const { timeZone } = useOffice();
  const { t, lang } = useI18n();
  if (refunds.length === 0) return <p class="empty">{t('noRefunds')}</p>;
  return (
    <div class="order-scroll">
      <table class="grid order-grid" data-testid="refunds">
        <thead>
          <tr>
            <th>{t('createdAt')}</th>
            <th class="num">{t('amount')}</th>
            <th class="num">{t('netAmount')}</th>
            <th>{t('methodCol')}</th>
            <th>{t('reasonCol')}</th>
            <th>{t('statusCol')}</th>
            <th>{t('responseCode')}</th>
            <th>{t('approvedBy')}</th>
          </tr>
        </thead>
        <tbody>
          {refunds.map((r) => {
            const code = r.network.responseCode;
            return (
              <tr key={r.id} data-refund={r.id}>
                <td>{formatDateTime(r.createdAt, timeZone, lang)}</td>
                <td class="num">{formatFen(r.amount)}</td>
                <td class="num">{formatFen(r.netAmount)}</td>
                <td>
                  {t(`refundMethod.${r.method}`)}
                  {r.consumer?.bankAccount ? <span class="muted"> {r.consumer.bankAccount}</span> : null}
                </td>
                <td>
                  {t(`reason.${r.reason.code}`)}
                  {r.reason.note ? <span class="muted"> · {r.reason.note}</span> : null}
                </td>
                <td>
                  <StatusBadge prefix="status" value={r.status} />
                  {r.delayed ? <span class="badge badge-requested">{t('delayed')}</span> : null}
                </td>
                <td>
                  {code ? (
                    <span title={(r.network.outcome ?? outcomes.get(code))?.fix[lang]}>
                      {code}{' '}
                      <span class="muted">
                        {(r.network.outcome ?? outcomes.get(code))?.message[lang] ?? ''}
                      </span>
                    </span>
                  ) : (
                    '—'
                  )}
                </td>
                <td>{r.approvals.map((a) => a.operatorNo).join(', ') || '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The order's amount revisions (调整金额), oldest first. */
export function OrderRevisions({ revisions }: { revisions: Order['revisions'] }) {
  const { timeZone } = useOffice();
  const { t, lang } = useI18n();
  return (
    <div class="order-scroll">
      <table class="grid order-grid" data-testid="revisions">
        <thead>
          <tr>
            <th>{t('revisionCol')}</th>
            <th>{t('timeCol')}</th>
            <th class="num">{t('originalAmountYuan')}</th>
            <th class="num">{t('newAmountYuan')}</th>
            <th class="num">{t('adjustDifference')}</th>
            <th>{t('reasonCol')}</th>
            <th>{t('operatorCol')}</th>
          </tr>
        </thead>
        <tbody>
          {revisions.map((r) => (
            <tr key={r.id}>
              <td>#{r.revision}</td>
              <td>{formatDateTime(r.createdAt, timeZone, lang)}</td>
              <td class="num">{formatFen(r.originalAmount)}</td>
              <td class="num">{formatFen(r.newAmount)}</td>
              <td class="num">{formatFen(r.difference)}</td>
              <td>{t(`reason.${r.reason.code}`)}</td>
              <td>{actorText(r.createdBy, t)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
