import { useState } from 'preact/hooks';
import type { Payment, Policy, Refund, RefundMethod } from '../../shared/api';
import { Button, ErrorBox, Notice } from '../../shared/components';
import { emailError, normalPhone, phoneError } from '../../shared/contact';
import { useOffice } from '../app-context';
import { type MessageKey, useI18n } from '../i18n';
import {
  accountDigits,
  type BankDetails,
  bankProblem,
  CollectBankFields,
  emptyBank,
  holderName,
} from './CollectBank';
import {
  CollectContactFields,
  CollectDraftFacts,
  CollectResult,
  type Contact,
  type Draft,
} from './CollectResult';
import {
  approvalsFor,
  checkAmount,
  emptyReason,
  OrderAmountField,
  OrderApproversField,
  OrderReasonField,
  type ReasonDraft,
  reasonOf,
  useApprovers,
  useAttempt,
} from './OrderFields';

/** The consumer's details as the API takes them: bank transfers with both entries, nothing empty. */
function consumerOf(method: RefundMethod, c: Contact, b: BankDetails): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (method === 'bank_transfer') {
    out.name = holderName(b.name);
    out.nameConfirm = holderName(b.nameConfirm);
    out.bankAccount = accountDigits(b.bankAccount);
    out.bankAccountConfirm = accountDigits(b.bankAccountConfirm);
  } else if (c.name.trim()) out.name = holderName(c.name);
  if (c.phone.trim()) out.phone = normalPhone(c.phone);
  if (c.email.trim()) out.email = c.email.trim();
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * 场外退款 (seed 004) for a consumer who is not at the counter: by the original route, cash or bank
 * transfer (what the policy allows), with the consumer's contact, and for a bank transfer the
 * account and holder typed twice and compared before anything is sent. Approvals are optional:
 * without enough of them the refund waits in the review queue.
 */
export function CollectRefundForm({
  payment,
  policy,
  onDone,
}: {
  payment: Payment;
  policy: Policy | null;
  onDone: () => void;
}) {
  const { api, go } = useOffice();
  const { t } = useI18n();
  const methods: readonly RefundMethod[] = policy?.methods ?? ['original'];
  const [step, setStep] = useState<'edit' | 'confirm' | 'done'>('edit');
  const [reason, setReason] = useState<ReasonDraft>(() => emptyReason(policy));
  const [amountText, setAmountText] = useState('');
  const [method, setMethod] = useState<RefundMethod>(methods[0] ?? 'original');
  const [contact, setContact] = useState<Contact>({ name: '', phone: '', email: '' });
  const [bank, setBank] = useState<BankDetails>(emptyBank);
  const [approveNow, setApproveNow] = useState(false);
  const [checked, setChecked] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [result, setResult] = useState<Refund | null>(null);
  const needed = draft ? approvalsFor(draft.amount, policy) : 1;
  const approvers = useApprovers(approveNow ? needed : 0);
  const attempt = useAttempt(approvers.clearPasswords);

  const next = (e: Event) => {
    e.preventDefault();
    setChecked(true);
    const amount = checkAmount(amountText, payment.refundableAmount, t);
    if ('problem' in amount) return setProblem(amount.problem);
    const r = reasonOf(reason);
    if (!r) return setProblem(t('reasonNoteMissing'));
    const wrong: MessageKey | null =
      (method === 'bank_transfer' ? bankProblem(bank) : null) ??
      phoneError(contact.phone) ??
      emailError(contact.email);
    if (wrong) return setProblem(t(wrong));
    const consumer = consumerOf(method, contact, bank);
    setDraft({
      paymentId: payment.id,
      amount: amount.fen,
      reason: r,
      method,
      ...(consumer ? { consumer } : {}),
    });
    attempt.setError(null);
    setStep('confirm');
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!draft || (approveNow && (!approvers.complete || approvers.same))) return;
    const created = await attempt.run(draft, (key) =>
      api.post<Refund>(
        '/v1/refunds',
        { ...draft, ...(approveNow ? { approvals: approvers.approvals() } : {}) },
        key,
      ),
    );
    if (created) {
      setResult(created);
      setStep('done');
      onDone();
    }
  };

  if (step === 'done' && result) return <CollectResult refund={result} onQueue={() => go('queue')} />;

  if (step === 'confirm' && draft) {
    const fee = Math.min(policy?.feeRule.handlingFee ?? 0, draft.amount);
    const enough = approveNow && approvers.list.length >= needed;
    return (
      <form class="order-form panel" onSubmit={submit} data-testid="collect-confirm">
        <h2>{t('collectConfirmTitle')}</h2>
        <CollectDraftFacts draft={draft} orderNo={payment.orderNo} fee={fee} />
        <Notice kind={enough ? 'info' : 'warn'}>
          <span data-testid="collect-what">{t(enough ? 'collectWillSend' : 'collectWillQueue')}</span>
        </Notice>
        {approveNow ? <OrderApproversField approvers={approvers} /> : null}
        <ErrorBox error={attempt.error} />
        <div class="actions">
          <Button disabled={attempt.busy} onClick={() => setStep('edit')}>
            {t('back')}
          </Button>
          <Button
            variant="primary"
            type="submit"
            busy={attempt.busy}
            disabled={approveNow && (!approvers.complete || approvers.same)}
            data-testid="collect-submit"
          >
            {t('collectSubmit')}
          </Button>
        </div>
      </form>
    );
  }

  return (
    <form class="order-form panel collect-form" onSubmit={next} data-testid="collect-form">
      <OrderReasonField value={reason} onChange={setReason} policy={policy} />
      <OrderAmountField
        label={t('refundAmountYuan')}
        value={amountText}
        max={payment.refundableAmount}
        onChange={(v) => {
          setProblem(null);
          setAmountText(v);
        }}
      />
      <fieldset class="collect-methods">
        <legend>{t('refundMethodLabel')}</legend>
        {methods.map((m) => (
          <label class="check" key={m}>
            <input
              type="radio"
              name="method"
              value={m}
              data-testid={`method-${m}`}
              checked={method === m}
              onChange={() => {
                setProblem(null);
                setMethod(m);
              }}
            />
            {t(`refundMethod.${m}`)}
          </label>
        ))}
      </fieldset>
      {method === 'bank_transfer' ? (
        <CollectBankFields
          value={bank}
          checked={checked}
          onChange={(b) => {
            setProblem(null);
            setBank(b);
          }}
        />
      ) : null}
      <CollectContactFields value={contact} onChange={setContact} withName={method !== 'bank_transfer'} />
      <label class="check">
        <input
          type="checkbox"
          name="approveNow"
          data-testid="approve-now"
          checked={approveNow}
          onChange={(e) => setApproveNow(e.currentTarget.checked)}
        />
        {t('approveNow')}
      </label>
      <p class="muted">{t(approveNow ? 'approveNowHint' : 'queueHintCollect')}</p>
      {problem ? (
        <Notice kind="warn">
          <span data-testid="collect-problem">{problem}</span>
        </Notice>
      ) : null}
      <div class="actions">
        <Button variant="primary" type="submit" data-testid="collect-next">
          {t('next')}
        </Button>
      </div>
    </form>
  );
}
