import { useRef, useState } from 'preact/hooks';
import { ApiError, type Approval, newIdempotencyKey, type Payment } from '../../shared/api';
import { useApp } from '../app-context';
import { FindPayment } from '../components/FindPayment';
import { SupervisorPad } from '../components/Supervisor';
import { Button, ErrorBox, Notice, Steps, useEscape } from '../components/ui';
import { useI18n } from '../i18n';
import { PaymentFacts } from './Refund';

type Step = 'find' | 'confirm' | 'approve' | 'done';
const STEPS = ['stepFind', 'stepConfirm', 'stepApprove', 'stepResult'] as const;
const at: Record<Step, number> = { find: 0, confirm: 1, approve: 2, done: 3 };

/** 撤销 (PRODUCT.md §2): find the payment → confirm → supervisor → POST /v1/payments/:id/void. */
export function VoidScreen() {
  const { api, go } = useApp();
  const { t } = useI18n();
  const [step, setStep] = useState<Step>('find');
  const [payment, setPayment] = useState<Payment | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const key = useRef<string>(newIdempotencyKey());

  useEscape(
    step === 'find' || step === 'done'
      ? () => go({ name: 'home' })
      : () => setStep(step === 'approve' ? 'confirm' : 'find'),
  );

  const submit = async (approvals: Approval[]): Promise<boolean> => {
    if (!payment) return false;
    setBusy(true);
    setError(null);
    try {
      const voided = await api.post<Payment>(`/v1/payments/${payment.id}/void`, { approvals }, key.current);
      setPayment(voided);
      setStep('done');
      return false;
    } catch (err) {
      setError(err);
      return err instanceof ApiError;
    } finally {
      setBusy(false);
    }
  };

  const notAllowed = error instanceof ApiError && error.code === 'void_not_allowed';

  return (
    <div class="flow">
      <Steps steps={[...STEPS]} current={at[step]} />
      {step === 'find' ? (
        <>
          <h2>{t('findTitle')}</h2>
          <FindPayment
            onPick={(p) => {
              setPayment(p);
              setError(null);
              key.current = newIdempotencyKey();
              setStep('confirm');
            }}
          />
        </>
      ) : null}
      {step === 'confirm' && payment ? (
        <div class="confirm" data-testid="void-confirm">
          <h2>{t('voidConfirm')}</h2>
          <PaymentFacts payment={payment} />
          <Notice>{t('voidExplain')}</Notice>
          <div class="actions">
            <Button onClick={() => setStep('find')}>{t('back')}</Button>
            <Button variant="danger" data-testid="void-do" onClick={() => setStep('approve')}>
              {t('voidDo')}
            </Button>
          </div>
        </div>
      ) : null}
      {step === 'approve' ? (
        <SupervisorPad count={1} onApprove={submit} busy={busy} okLabel={t('voidDo')}>
          {error ? (
            <ErrorBox error={error}>
              {notAllowed && payment ? (
                <Button variant="primary" onClick={() => go({ name: 'refund', payment })}>
                  {t('useRefundInstead')}
                </Button>
              ) : null}
            </ErrorBox>
          ) : null}
        </SupervisorPad>
      ) : null}
      {step === 'done' && payment ? (
        <div class="result result-succeeded" data-testid="void-result">
          <div class="result-head">
            <span class="result-icon" aria-hidden="true">
              ✓
            </span>
            <h2 data-testid="result-title">{t('voided')}</h2>
          </div>
          <p>{t('voidedDone')}</p>
          <PaymentFacts payment={payment} />
          <div class="actions">
            <Button variant="primary" onClick={() => go({ name: 'home' })}>
              {t('home')}
            </Button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
