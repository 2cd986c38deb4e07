import { useState } from 'preact/hooks';
import type { Adjustment, Order, Policy, Reason } from '../../shared/api';
import { Button, Facts, Notice } from '../../shared/components';
import { fenToInput, formatFen, parseYuan } from '../../shared/money';
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
  useApprovers,
  useAttempt,
} from './OrderFields';

/**
 * 调整金额 from the order page: the original and the new amount; a decrease refunds the
 * difference (approvals as for a refund of it), an increase charges it as a linked payment —
 * POST /v1/orders/:orderNo/adjustments. The order keeps the revision.
 */
export function OrderAdjustDialog({
  order,
  policy,
  onClose,
  onDone,
}: {
  order: Order;
  policy: Policy | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [step, setStep] = useState<'edit' | 'confirm' | 'done'>('edit');
  const [texts, setTexts] = useState({ original: fenToInput(order.currentAmount), next: '' });
  const [reason, setReason] = useState<ReasonDraft>(() => emptyReason(policy));
  const [problem, setProblem] = useState<string | null>(null);
  const [draft, setDraft] = useState<{ original: number; next: number; reason: Reason } | null>(null);
  const [result, setResult] = useState<Adjustment | null>(null);
  const decrease = draft ? draft.original - draft.next : 0;
  const approvers = useApprovers(decrease > 0 ? approvalsFor(decrease, policy) : 1);
  const attempt = useAttempt(approvers.clearPasswords);

  const next = (e: Event) => {
    e.preventDefault();
    const original = checkAmount(texts.original, null, t);
    if ('problem' in original) return setProblem(original.problem);
    // A new amount of 0 is allowed: the order is refunded whole.
    const zero = parseYuan(texts.next);
    const nextAmount = !zero.ok && zero.error === 'zero' ? { fen: 0 } : checkAmount(texts.next, null, t);
    if ('problem' in nextAmount) return setProblem(nextAmount.problem);
    if (original.fen === nextAmount.fen) return setProblem(t('adjustSameAmount'));
    const r = reasonOf(reason);
    if (!r) return setProblem(t('reasonNoteMissing'));
    setDraft({ original: original.fen, next: nextAmount.fen, reason: r });
    attempt.setError(null);
    setStep('confirm');
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!draft || !approvers.complete || approvers.same) return;
    const body = { originalAmount: draft.original, newAmount: draft.next, reason: draft.reason };
    const made = await attempt.run(body, (key) =>
      api.post<Adjustment>(
        `/v1/orders/${encodeURIComponent(order.orderNo)}/adjustments`,
        { ...body, approvals: approvers.approvals() },
        key,
      ),
    );
    if (made) {
      setResult(made);
      setStep('done');
      onDone();
    }
  };

  return (
    <Dialog wide title={t('adjustTitle')} testId="adjust-dialog" busy={attempt.busy} onClose={onClose}>
      {step === 'edit' ? (
        <form class="order-form" onSubmit={next}>
          <Facts rows={[[t('currentAmount'), formatFen(order.currentAmount)]]} />
          <div class="order-two">
            <OrderAmountField
              label={t('originalAmountYuan')}
              name="originalAmount"
              value={texts.original}
              onChange={(v) => {
                setProblem(null);
                setTexts({ ...texts, original: v });
              }}
            />
            <OrderAmountField
              label={t('newAmountYuan')}
              name="newAmount"
              value={texts.next}
              onChange={(v) => {
                setProblem(null);
                setTexts({ ...texts, next: v });
              }}
            />
          </div>
          <OrderReasonField value={reason} onChange={setReason} policy={policy} />
          {problem ? <Notice kind="warn">{problem}</Notice> : null}
          <div class="actions">
            <Button variant="primary" type="submit" data-testid="adjust-next">
              {t('next')}
            </Button>
          </div>
        </form>
      ) : null}
      {step === 'confirm' && draft ? (
        <form class="order-form" onSubmit={submit} data-testid="adjust-confirm">
          <p class="order-what">
            {formatFen(draft.original)} → {formatFen(draft.next)}:{' '}
            {decrease > 0
              ? t('adjustWillRefund', { amount: formatFen(decrease) })
              : t('adjustWillCharge', { amount: formatFen(-decrease) })}
          </p>
          <Facts
            rows={[
              [t('orderNo'), order.orderNo],
              [
                t('reasonCol'),
                `${t(`reason.${draft.reason.code}`)}${draft.reason.note ? ` · ${draft.reason.note}` : ''}`,
              ],
            ]}
          />
          <OrderConfirmFoot
            amount={decrease}
            policy={policy}
            approvers={approvers}
            attempt={attempt}
            onBack={() => setStep('edit')}
            submitLabel={t('adjustDo')}
            testId="adjust-submit"
          />
        </form>
      ) : null}
      {step === 'done' && result ? (
        <div class="order-form" data-testid="action-result">
          <Notice>
            {t('adjustDone', { revision: result.revision })}{' '}
            {result.refund ? <StatusBadge prefix="status" value={result.refund.status} /> : null}
          </Notice>
          <Facts
            rows={[
              [t('adjustDifference'), formatFen(result.difference), 'adjust-difference'],
              ...(result.charge
                ? [[t('chargeMade'), formatFen(result.charge.amount)] as [string, string]]
                : []),
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
