import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import {
  type Adjustment,
  ApiError,
  type Approval,
  newIdempotencyKey,
  type Order,
  type Payment,
  type Reason,
} from '../../shared/api';
import { fenToInput, formatFen, parseYuan, typeAmountKey } from '../../shared/money';
import { useApp } from '../app-context';
import { FindPayment } from '../components/FindPayment';
import { ReasonPicker } from '../components/ReasonPicker';
import { RefundProgress } from '../components/RefundProgress';
import { SupervisorPad } from '../components/Supervisor';
import { Button, ErrorBox, Facts, Keypad, Notice, PadField, Steps, useEscape } from '../components/ui';
import { useI18n } from '../i18n';

type Step = 'find' | 'amounts' | 'reason' | 'approve' | 'done';
const STEPS = ['stepFind', 'stepAmount', 'stepReason', 'stepApprove', 'stepResult'] as const;
const at: Record<Step, number> = { find: 0, amounts: 1, reason: 2, approve: 3, done: 4 };

/**
 * 调整金额 (PRODUCT.md §2): the order → its original and new amount → reason → supervisor →
 * POST /v1/orders/:orderNo/adjustments; a decrease refunds the difference, an increase charges it.
 */
export function AdjustScreen() {
  const { api, policy, go } = useApp();
  const { t } = useI18n();
  const [step, setStep] = useState<Step>('find');
  const [order, setOrder] = useState<Order | null>(null);
  const [amounts, setAmounts] = useState<{ original: number; next: number } | null>(null);
  const [reason, setReason] = useState<Reason | null>(null);
  const [result, setResult] = useState<Adjustment | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const key = useRef(newIdempotencyKey());

  const backTo: Record<Step, () => void> = {
    find: () => go({ name: 'home' }),
    amounts: () => setStep('find'),
    reason: () => setStep('amounts'),
    approve: () => setStep('reason'),
    done: () => go({ name: 'home' }),
  };
  useEscape(backTo[step]);

  const onPick = async (p: Payment) => {
    setError(null);
    try {
      setOrder(await api.get<Order>(`/v1/orders/${encodeURIComponent(p.orderNo)}`));
      setStep('amounts');
    } catch (err) {
      setError(err);
    }
  };

  const threshold = policy?.largeRefundThreshold ?? Number.POSITIVE_INFINITY;
  const decrease = amounts ? amounts.original - amounts.next : 0;

  const submit = async (approvals: Approval[]): Promise<boolean> => {
    if (!order || !amounts || !reason) return false;
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<Adjustment>(
        `/v1/orders/${encodeURIComponent(order.orderNo)}/adjustments`,
        { originalAmount: amounts.original, newAmount: amounts.next, reason, approvals },
        key.current,
      );
      setResult(r);
      setStep('done');
      return false;
    } catch (err) {
      setError(err);
      return err instanceof ApiError;
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="flow">
      <Steps steps={[...STEPS]} current={at[step]} />
      {step === 'find' ? (
        <>
          <h2>{t('findTitle')}</h2>
          <ErrorBox error={error} />
          <FindPayment onPick={onPick} />
        </>
      ) : null}
      {step === 'amounts' && order ? (
        <AmountsStep
          order={order}
          onDone={(a) => {
            setAmounts(a);
            key.current = newIdempotencyKey();
            setStep('reason');
          }}
        />
      ) : null}
      {step === 'reason' ? (
        <ReasonPicker
          onPick={(r) => {
            setReason(r);
            setStep('approve');
          }}
        />
      ) : null}
      {step === 'approve' && amounts ? (
        <SupervisorPad
          count={decrease >= threshold ? 2 : 1}
          onApprove={submit}
          busy={busy}
          okLabel={t('adjustDo')}
        >
          <div class="approve-summary">
            {formatFen(amounts.original)} → <strong>{formatFen(amounts.next)}</strong>
          </div>
          <div class="approve-summary">
            {decrease > 0
              ? t('adjustRefund', { amount: formatFen(decrease) })
              : t('adjustCharge', { amount: formatFen(-decrease) })}
          </div>
          <ErrorBox error={error} />
        </SupervisorPad>
      ) : null}
      {step === 'done' && result ? (
        result.refund ? (
          <RefundProgress
            initial={result.refund}
            actions={() => (
              <Button variant="primary" onClick={() => go({ name: 'home' })}>
                {t('home')}
              </Button>
            )}
          />
        ) : (
          <div class="result result-succeeded" data-testid="adjust-result">
            <div class="result-head">
              <span class="result-icon" aria-hidden="true">
                ✓
              </span>
              <h2 data-testid="result-title">{t('adjustDone')}</h2>
            </div>
            <Facts
              rows={[
                [t('orderNo'), result.orderNo],
                [t('adjustDifference'), formatFen(result.difference), 'difference'],
                ...(result.charge
                  ? [
                      [t('charge'), t('chargeDone', { amount: formatFen(result.charge.amount) })] as [
                        string,
                        string,
                      ],
                    ]
                  : []),
              ]}
            />
            <div class="actions">
              <Button variant="primary" onClick={() => go({ name: 'home' })}>
                {t('home')}
              </Button>
            </div>
          </div>
        )
      ) : null}
    </div>
  );
}

function AmountsStep({
  order,
  onDone,
}: {
  order: Order;
  onDone: (a: { original: number; next: number }) => void;
}) {
  const { t } = useI18n();
  const [values, setValues] = useState({ original: fenToInput(order.currentAmount), next: '' });
  const [active, setActive] = useState<'original' | 'next'>('next');
  const [problem, setProblem] = useState<string | null>(null);
  const refs = useRef<Record<'original' | 'next', HTMLInputElement | null>>({ original: null, next: null });

  // Layout effect: the focus is in place before the next key (a scanner does not wait for paint).
  useLayoutEffect(() => {
    refs.current[active]?.focus();
  }, [active]);

  const submit = (e: Event) => {
    e.preventDefault();
    const original = parseYuan(values.original);
    const next = parseYuan(values.next);
    if (!original.ok) {
      setActive('original');
      setProblem(t(`amount.${original.error}`));
      return;
    }
    if (!next.ok) {
      setActive('next');
      setProblem(t(`amount.${next.error}`));
      return;
    }
    if (original.fen === next.fen) {
      setProblem(t('adjustSame'));
      return;
    }
    onDone({ original: original.fen, next: next.fen });
  };

  const parsed = { original: parseYuan(values.original), next: parseYuan(values.next) };
  const diff = parsed.original.ok && parsed.next.ok ? parsed.next.fen - parsed.original.fen : null;

  return (
    <div class="amount-step">
      <div class="amount-left">
        <Facts
          rows={[
            [t('orderNo'), order.orderNo, 'order-no'],
            [t('currentOrderAmount'), <strong key="c">{formatFen(order.currentAmount)}</strong>],
            ...(diff !== null && diff !== 0
              ? [
                  [
                    t('adjustDifference'),
                    diff < 0
                      ? t('adjustRefund', { amount: formatFen(-diff) })
                      : t('adjustCharge', { amount: formatFen(diff) }),
                  ] as [string, string],
                ]
              : []),
          ]}
        />
      </div>
      <form class="amount-pad" onSubmit={submit}>
        {(['original', 'next'] as const).map((f) => (
          <PadField
            key={f}
            name={f === 'original' ? 'originalAmount' : 'newAmount'}
            label={t(f === 'original' ? 'originalAmount' : 'newAmount')}
            prefix="¥"
            value={values[f]}
            active={active === f}
            onFocus={() => setActive(f)}
            inputRef={(el) => {
              refs.current[f] = el;
            }}
            onValue={(v) => {
              setProblem(null);
              setValues({ ...values, [f]: v.replace(/[^0-9.]/g, '') });
            }}
          />
        ))}
        {problem ? <Notice kind="warn">{problem}</Notice> : null}
        <Keypad
          decimals
          okLabel={t('next')}
          onKey={(k) => {
            setProblem(null);
            setValues((v) => ({ ...v, [active]: typeAmountKey(v[active], k) }));
          }}
        />
      </form>
    </div>
  );
}
