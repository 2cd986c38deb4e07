import { useState } from 'preact/hooks';
import { ApiError, type Payment } from '../../shared/api';
import { Button, ErrorBox, Facts, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { useI18n } from '../i18n';
import { Dialog } from './Dialog';
import { OrderApproversField, useApprovers, useAttempt } from './OrderFields';

/**
 * 撤销 from the order page: same day, before settlement, the whole amount, one supervisor —
 * POST /v1/payments/:id/void. Refused after settlement (void_not_allowed): then a refund.
 */
export function OrderVoidDialog({
  payment,
  onClose,
  onDone,
  onRefundInstead,
}: {
  payment: Payment;
  onClose: () => void;
  onDone: () => void;
  onRefundInstead: () => void;
}) {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const [done, setDone] = useState<Payment | null>(null);
  const approvers = useApprovers(1);
  const attempt = useAttempt(approvers.clearPasswords);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!approvers.complete) return;
    const voided = await attempt.run({ void: payment.id }, (key) =>
      api.post<Payment>(
        `/v1/payments/${encodeURIComponent(payment.id)}/void`,
        { approvals: approvers.approvals() },
        key,
      ),
    );
    if (voided) {
      setDone(voided);
      onDone();
    }
  };

  const notAllowed = attempt.error instanceof ApiError && attempt.error.code === 'void_not_allowed';
  return (
    <Dialog wide title={t('voidTitle')} testId="void-dialog" busy={attempt.busy} onClose={onClose}>
      {done ? (
        <div class="order-form" data-testid="action-result">
          <Notice>{t('voidDone', { amount: formatFen(done.amount) })}</Notice>
          <div class="actions">
            <Button variant="primary" data-testid="dialog-done" onClick={onClose}>
              {t('close')}
            </Button>
          </div>
        </div>
      ) : (
        <form class="order-form" onSubmit={submit} data-testid="void-confirm">
          <p class="order-what">{t('voidWhat', { amount: formatFen(payment.amount) })}</p>
          <Facts
            rows={[
              [t('orderNo'), payment.orderNo],
              [t('paymentTime'), formatDateTime(payment.capturedAt, timeZone, lang)],
              [
                t('methodCol'),
                `${t(`method.${payment.method}`)}${payment.card ? ` ****${payment.card.last4}` : ''}`,
              ],
              [t('amount'), formatFen(payment.amount), 'void-amount'],
            ]}
          />
          <Notice kind="warn">{t('voidRule')}</Notice>
          <OrderApproversField approvers={approvers} />
          <ErrorBox error={attempt.error}>
            {notAllowed ? (
              <Button variant="primary" data-testid="refund-instead" onClick={onRefundInstead}>
                {t('refundInstead')}
              </Button>
            ) : null}
          </ErrorBox>
          <div class="actions">
            <Button disabled={attempt.busy} onClick={onClose}>
              {t('cancel')}
            </Button>
            <Button
              variant="danger"
              type="submit"
              busy={attempt.busy}
              disabled={!approvers.complete}
              data-testid="void-submit"
            >
              {t('voidDo')}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
