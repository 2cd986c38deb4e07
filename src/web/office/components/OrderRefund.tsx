import { useState } from 'preact/hooks';
import type { Payment, Policy, Reason, Refund } from '../../shared/api';
import { Button, Facts, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { useOffice } from '../app-context';
import { useI18n } from '../i18n';
import { StatusBadge } from './common';
import { Dialog } from './Dialog';
import {
  approvalsFor,
  checkAmount,
  emptyReason,
  OrderAmountField,
  OrderConfirmFoot,
  OrderReasonField,
  type ReasonDraft,
  reasonOf,
  refundableRows,
  useApprovers,
  useAttempt,
} from './OrderFields';

/**
 * 退款 from the order page, by the original route, with the terminal's rules: reason → amount
 * (at most what is refundable) → what will happen → supervisor approval(s) → POST /v1/refunds.
 */
export function OrderRefundDialog({
  payment,
  policy,
  onClose,
  onDone,
}: {
  payment: Payment;
  policy: Policy | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [step, setStep] = useState<'edit' | 'confirm' | 'done'>('edit');
  const [reason, setReason] = useState<ReasonDraft>(() => emptyReason(policy));
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [draft, setDraft] = useState<{ amount: number; reason: Reason } | null>(null);
  const [result, setResult] = useState<Refund | null>(null);
  const approvers = useApprovers(draft ? approvalsFor(draft.amount, policy) : 1);
  const attempt = useAttempt(approvers.clearPasswords);
  const handlingFee = policy?.feeRule.handlingFee ?? 0;

  const next = (e: Event) => {
    e.preventDefault();
    const amount = checkAmount(text, payment.refundableAmount, t);
    if ('problem' in amount) return setProblem(amount.problem);
    const r = reasonOf(reason);
    if (!r) return setProblem(t('reasonNoteMissing'));
    setDraft({ amount: amount.fen, reason: r });
    attempt.setError(null);
    setStep('confirm');
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!draft || !approvers.complete || approvers.same) return;
    const body = { paymentId: payment.id, amount: draft.amount, reason: draft.reason, method: 'original' };
    const created = await attempt.run(body, (key) =>
      api.post<Refund>('/v1/refunds', { ...body, approvals: approvers.approvals() }, key),
    );
    if (created) {
      setResult(created);
      setStep('done');
      onDone();
    }
  };

  return (
    <Dialog wide title={t('refundTitle')} testId="refund-dialog" busy={attempt.busy} onClose={onClose}>
      {step === 'edit' ? (
        <form class="order-form" onSubmit={next}>
          <Facts rows={refundableRows(payment, t)} />
          <OrderReasonField value={reason} onChange={setReason} policy={policy} />
          <OrderAmountField
            label={t('refundAmountYuan')}
            value={text}
            max={payment.refundableAmount}
            onChange={(v) => {
              setProblem(null);
              setText(v);
            }}
          />
          {problem ? <Notice kind="warn">{problem}</Notice> : null}
          <div class="actions">
            <Button variant="primary" type="submit" data-testid="refund-next">
              {t('next')}
            </Button>
          </div>
        </form>
      ) : null}
      {step === 'confirm' && draft ? (
        <form class="order-form" onSubmit={submit} data-testid="refund-confirm">
          <p class="order-what">{t('refundWhat', { amount: formatFen(draft.amount) })}</p>
          <Facts
            rows={[
              [t('orderNo'), payment.orderNo],
              [t('refundAmount'), formatFen(draft.amount), 'confirm-amount'],
              [t('fee'), formatFen(Math.min(handlingFee, draft.amount))],
              [t('netAmount'), formatFen(draft.amount - Math.min(handlingFee, draft.amount)), 'confirm-net'],
              [t('methodCol'), t('refundMethod.original')],
              [
                t('reasonCol'),
                `${t(`reason.${draft.reason.code}`)}${draft.reason.note ? ` · ${draft.reason.note}` : ''}`,
              ],
            ]}
          />
          <OrderConfirmFoot
            amount={draft.amount}
            policy={policy}
            approvers={approvers}
            attempt={attempt}
            onBack={() => setStep('edit')}
            submitLabel={t('confirmRefundDo')}
            testId="refund-submit"
          />
        </form>
      ) : null}
      {step === 'done' && result ? (
        <div class="order-form" data-testid="action-result">
          <Notice>
            {t('refundCreated', { amount: formatFen(result.amount) })}{' '}
            <StatusBadge prefix="status" value={result.status} />
          </Notice>
          <Facts
            rows={[
              [t('refundId'), result.id, 'result-refund-id'],
              [t('netAmount'), formatFen(result.netAmount)],
              [t('expectedArrival'), result.expectedArrival],
            ]}
          />
          <div class="actions">
            <Button variant="primary" data-testid="dialog-done" onClick={onClose}>
              {t('close')}
            </Button>
          </div>
        </div>
      ) : null}
    </Dialog>
  );
}
