import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  type Approval,
  newIdempotencyKey,
  type Payment,
  type Reason,
  type Refund as RefundView,
} from '../../shared/api';
import { emailError, normalPhone, phoneError } from '../../shared/contact';
import { formatFen, parseYuan, typeAmountKey } from '../../shared/money';
import { useApp } from '../app-context';
import { FindPayment, paymentLine } from '../components/FindPayment';
import { ReasonPicker } from '../components/ReasonPicker';
import { RefundProgress } from '../components/RefundProgress';
import { SupervisorPad } from '../components/Supervisor';
import { Button, ErrorBox, Facts, Keypad, Notice, PadField, Steps, useEscape } from '../components/ui';
import { useI18n } from '../i18n';

type Step = 'reason' | 'find' | 'amount' | 'confirm' | 'approve' | 'status';
const STEPS = ['stepReason', 'stepFind', 'stepAmount', 'stepConfirm', 'stepApprove', 'stepResult'] as const;
const stepIndex: Record<Step, number> = { reason: 0, find: 1, amount: 2, confirm: 3, approve: 4, status: 5 };

/** What the refund will be: an amount, or line items; `amount` is what either comes to. */
interface Draft {
  amount: number;
  items: { sku: string; name: string; qty: number; amount: number }[] | null;
}

/**
 * 退货 (PRODUCT.md §3): reason → original → full / partial / items → confirmation → supervisor
 * password(s) → POST /v1/refunds with one Idempotency-Key per confirmation → live status → result.
 */
export function RefundScreen({ preset }: { preset?: Payment | undefined }) {
  const { api, policy, network, go } = useApp();
  const { t } = useI18n();
  const [step, setStep] = useState<Step>('reason');
  const [reason, setReason] = useState<Reason | null>(null);
  const [payment, setPayment] = useState<Payment | null>(preset ?? null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [contact, setContact] = useState({ phone: '', email: '' });
  const [refund, setRefund] = useState<RefundView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const key = useRef<string | null>(null);

  const back: Partial<Record<Step, () => void>> = {
    reason: () => go({ name: 'home' }),
    find: () => setStep('reason'),
    amount: () => (preset ? setStep('reason') : setStep('find')),
    confirm: () => setStep('amount'),
    approve: () => setStep('confirm'),
  };
  useEscape(step === 'status' ? () => go({ name: 'home' }) : (back[step] ?? null));

  const threshold = policy?.largeRefundThreshold ?? Number.POSITIVE_INFINITY;
  const handlingFee = policy?.feeRule.handlingFee ?? 0;

  const onReason = (r: Reason) => {
    setReason(r);
    setError(null);
    setStep(payment ? 'amount' : 'find');
  };

  const onPayment = async (p: Payment) => {
    setError(null);
    // The list may be a little old: what is refundable is read again now.
    let fresh = p;
    try {
      fresh = await api.get<Payment>(`/v1/payments/${p.id}`);
    } catch {
      // keep what the list said; the API checks again on submit
    }
    setPayment(fresh);
    setStep('amount');
  };

  const onDraft = (d: Draft) => {
    setDraft(d);
    setError(null);
    // One key per confirmation: a retry of this confirmation reuses it, a changed amount gets a new one.
    key.current = newIdempotencyKey();
    setStep('confirm');
  };

  const contactError =
    (contact.phone ? phoneError(contact.phone) : null) ?? (contact.email ? emailError(contact.email) : null);

  const submit = async (approvals: Approval[]): Promise<boolean> => {
    if (!payment || !draft || !reason || !key.current) return false;
    setBusy(true);
    setError(null);
    const consumer = {
      ...(contact.phone.trim() ? { phone: normalPhone(contact.phone) } : {}),
      ...(contact.email.trim() ? { email: contact.email.trim() } : {}),
    };
    try {
      const created = await api.post<RefundView>(
        '/v1/refunds',
        {
          paymentId: payment.id,
          ...(draft.items
            ? { items: draft.items.map((i) => ({ sku: i.sku, qty: i.qty })) }
            : { amount: draft.amount }),
          reason,
          method: 'original',
          approvals,
          ...(Object.keys(consumer).length > 0 ? { consumer } : {}),
        },
        key.current,
      );
      setRefund(created);
      setStep('status');
      return false;
    } catch (err) {
      setError(err);
      // Wrong or locked passwords are typed again; anything else is fixed on an earlier step.
      return err instanceof ApiError;
    } finally {
      setBusy(false);
    }
  };

  const approvalError =
    error instanceof ApiError &&
    ['supervisor_password_invalid', 'supervisor_locked', 'same_approver', 'approver_not_authorised'].includes(
      error.code,
    );

  return (
    <div class="flow">
      <Steps steps={[...STEPS]} current={stepIndex[step]} />
      {network === 'down' && step !== 'status' ? (
        <Notice kind="warn">{t('networkDownWarning')}</Notice>
      ) : null}
      {step === 'reason' ? <ReasonPicker onPick={onReason} /> : null}
      {step === 'find' ? (
        <>
          <h2>{t('findTitle')}</h2>
          <FindPayment onPick={onPayment} showRefundable />
        </>
      ) : null}
      {step === 'amount' && payment ? <AmountStep payment={payment} onDraft={onDraft} /> : null}
      {step === 'confirm' && payment && draft && reason ? (
        <div class="confirm" data-testid="confirm">
          <h2>{t('confirmTitle')}</h2>
          {draft.amount >= threshold ? (
            <Notice kind="warn">{t('largeRefund', { threshold: formatFen(threshold) })}</Notice>
          ) : null}
          <div class="two-col">
            <Facts
              rows={[
                [t('orderNo'), payment.orderNo],
                [t('reason'), `${t(`reason.${reason.code}`)}${reason.note ? `：${reason.note}` : ''}`],
                [t('refundAmount'), <strong key="a">{formatFen(draft.amount)}</strong>, 'confirm-amount'],
                [t('fee'), formatFen(Math.min(handlingFee, draft.amount)), 'confirm-fee'],
                [
                  t('netAmount'),
                  <strong key="n">{formatFen(draft.amount - Math.min(handlingFee, draft.amount))}</strong>,
                  'confirm-net',
                ],
                [t('refundMethod'), `${t('refundMethod.original')} · ${paymentLine(payment, t)}`],
                ...(draft.items
                  ? [
                      [t('items'), draft.items.map((i) => `${i.name} × ${i.qty}`).join('，')] as [
                        string,
                        string,
                      ],
                    ]
                  : []),
              ]}
            />
            <form
              class="contact"
              onSubmit={(e) => {
                e.preventDefault();
                if (!contactError) setStep('approve');
              }}
            >
              <p class="muted">{t('consumerContact')}</p>
              <label>
                <span>{t('phone')}</span>
                <input
                  name="phone"
                  inputMode="tel"
                  autoComplete="off"
                  value={contact.phone}
                  onInput={(e) =>
                    setContact({ ...contact, phone: (e.currentTarget as HTMLInputElement).value })
                  }
                />
              </label>
              <label>
                <span>{t('email')}</span>
                <input
                  name="email"
                  inputMode="email"
                  autoComplete="off"
                  value={contact.email}
                  onInput={(e) =>
                    setContact({ ...contact, email: (e.currentTarget as HTMLInputElement).value })
                  }
                />
              </label>
              {contactError ? <Notice kind="warn">{t(contactError)}</Notice> : null}
              <div class="actions">
                <Button onClick={() => setStep('amount')}>{t('editAmount')}</Button>
                <Button
                  type="submit"
                  variant="primary"
                  data-testid="confirm-refund"
                  disabled={!!contactError}
                >
                  {t('confirmRefund')}
                </Button>
              </div>
            </form>
          </div>
        </div>
      ) : null}
      {step === 'approve' && draft ? (
        <SupervisorPad count={draft.amount >= threshold ? 2 : 1} onApprove={submit} busy={busy}>
          <div class="approve-summary">
            {t('refundAmount')} <strong>{formatFen(draft.amount)}</strong>
          </div>
          {draft.amount >= threshold ? (
            <Notice kind="warn">{t('largeRefund', { threshold: formatFen(threshold) })}</Notice>
          ) : null}
          {error ? (
            <ErrorBox error={error}>
              {!approvalError ? <Button onClick={() => setStep('amount')}>{t('editAmount')}</Button> : null}
            </ErrorBox>
          ) : null}
        </SupervisorPad>
      ) : null}
      {step === 'status' && refund ? (
        <RefundProgress
          initial={refund}
          actions={(r) => (
            <>
              {r.status === 'failed' ? (
                <Button
                  onClick={() => {
                    setRefund(null);
                    setStep('amount');
                    void onPayment(payment as Payment);
                  }}
                >
                  {t('tryAgain')}
                </Button>
              ) : null}
              <Button onClick={() => go({ name: 'refund' })}>{t('newRefund')}</Button>
              <Button data-testid="home" onClick={() => go({ name: 'home' })}>
                {t('home')}
              </Button>
            </>
          )}
        />
      ) : null}
    </div>
  );
}

type Mode = 'partial' | 'full' | 'items';

/** Full, partial (keypad) or by line items (steppers), always showing what is still refundable. */
function AmountStep({ payment, onDraft }: { payment: Payment; onDraft: (d: Draft) => void }) {
  const { t } = useI18n();
  const items = (payment.items ?? []).filter((i) => i.qty > 0);
  const [mode, setMode] = useState<Mode>('partial');
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [qty, setQty] = useState<Record<string, number>>({});
  const field = useRef<HTMLInputElement | null>(null);
  const max = payment.refundableAmount;

  // Layout effect: the focus is in place before the next key (a scanner does not wait for paint).
  useLayoutEffect(() => {
    if (mode === 'partial') field.current?.focus();
  }, [mode]);

  if (max <= 0 || payment.status === 'voided') {
    return (
      <div class="amount-step">
        <PaymentFacts payment={payment} />
        <ErrorBox
          error={new ApiError({ status: 409, code: 'refund_exceeds_refundable', refundableAmount: 0 })}
        />
      </div>
    );
  }

  const submitPartial = (e: Event) => {
    e.preventDefault();
    const parsed = parseYuan(text);
    if (!parsed.ok) {
      setProblem(t(`amount.${parsed.error}`));
      return;
    }
    if (parsed.fen > max) {
      setProblem(t('amountOver', { max: formatFen(max) }));
      return;
    }
    onDraft({ amount: parsed.fen, items: null });
  };

  const chosen = items
    .filter((i) => (qty[i.sku] ?? 0) > 0)
    .map((i) => ({
      sku: i.sku,
      name: i.name,
      qty: qty[i.sku] ?? 0,
      amount: (qty[i.sku] ?? 0) * i.unitAmount,
    }));
  const itemsTotal = chosen.reduce((s, i) => s + i.amount, 0);

  const submitItems = (e: Event) => {
    e.preventDefault();
    if (chosen.length === 0) {
      setProblem(t('itemsNone'));
      return;
    }
    if (itemsTotal > max) {
      setProblem(t('amountOver', { max: formatFen(max) }));
      return;
    }
    onDraft({ amount: itemsTotal, items: chosen });
  };

  return (
    <div class="amount-step">
      <div class="amount-left">
        <PaymentFacts payment={payment} />
        <div class="segmented big" role="tablist">
          {(['partial', 'full', ...(items.length > 0 ? (['items'] as const) : [])] as Mode[]).map((m) => (
            <button
              key={m}
              type="button"
              role="tab"
              aria-selected={mode === m}
              class={mode === m ? 'seg on' : 'seg'}
              data-mode={m}
              onClick={() => {
                setProblem(null);
                setMode(m);
              }}
            >
              {t(m === 'partial' ? 'modePartial' : m === 'full' ? 'modeFull' : 'modeItems')}
            </button>
          ))}
        </div>
        {mode === 'full' ? (
          <Button
            variant="primary"
            class="huge"
            data-testid="full-refund"
            onClick={() => onDraft({ amount: max, items: null })}
          >
            {t('fullRefundOf', { amount: formatFen(max) })}
          </Button>
        ) : null}
        {mode === 'items' ? (
          <form onSubmit={submitItems} class="items">
            {items.map((i) => {
              const left = i.qty - i.refundedQty;
              const n = qty[i.sku] ?? 0;
              const set = (v: number) => {
                setProblem(null);
                setQty({ ...qty, [i.sku]: Math.max(0, Math.min(left, v)) });
              };
              return (
                <div class="item-row" key={i.sku} data-sku={i.sku}>
                  <span class="row-main">
                    <strong>{i.name}</strong>
                    <span class="muted">
                      {i.sku} · {formatFen(i.unitAmount)} × {i.qty} · {t('itemsLeft', { n: left })}
                    </span>
                  </span>
                  <span class="stepper">
                    <button
                      type="button"
                      class="step-btn"
                      aria-label={`${t('decrease')} ${i.name}`}
                      disabled={n <= 0}
                      onClick={() => set(n - 1)}
                    >
                      −
                    </button>
                    <output class="qty" data-testid={`qty-${i.sku}`}>
                      {n}
                    </output>
                    <button
                      type="button"
                      class="step-btn"
                      aria-label={`${t('increase')} ${i.name}`}
                      disabled={n >= left}
                      onClick={() => set(n + 1)}
                    >
                      +
                    </button>
                  </span>
                </div>
              );
            })}
            <div class="items-total">
              {t('refundAmount')} <strong data-testid="items-total">{formatFen(itemsTotal)}</strong>
            </div>
            {problem ? <Notice kind="warn">{problem}</Notice> : null}
            <Button type="submit" variant="primary" data-testid="items-next">
              {t('next')}
            </Button>
          </form>
        ) : null}
      </div>
      {mode === 'partial' ? (
        <form class="amount-pad" onSubmit={submitPartial}>
          <PadField
            name="amount"
            label={t('enterAmount')}
            prefix="¥"
            value={text}
            active
            inputRef={(el) => {
              field.current = el;
            }}
            onValue={(v) => {
              setProblem(null);
              setText(v.replace(/[^0-9.]/g, ''));
            }}
          />
          <div class="pad-hint">
            {t('refundable')} {formatFen(max)}
          </div>
          {problem ? <Notice kind="warn">{problem}</Notice> : null}
          <Keypad
            decimals
            okLabel={t('next')}
            onKey={(k) => {
              setProblem(null);
              setText((v) => typeAmountKey(v, k));
            }}
          />
        </form>
      ) : null}
    </div>
  );
}

export function PaymentFacts({ payment }: { payment: Payment }) {
  const { t } = useI18n();
  return (
    <Facts
      rows={[
        [t('orderNo'), payment.orderNo, 'order-no'],
        [t('method'), paymentLine(payment, t)],
        [t('original'), formatFen(payment.amount)],
        [t('refunded'), formatFen(payment.refundedAmount)],
        ...((payment.inFlightAmount ?? 0) > 0
          ? [[t('inFlight'), formatFen(payment.inFlightAmount ?? 0)] as [string, string]]
          : []),
        [t('refundable'), <strong key="r">{formatFen(payment.refundableAmount)}</strong>, 'refundable'],
      ]}
    />
  );
}
