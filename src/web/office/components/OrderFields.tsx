import { useRef, useState } from 'preact/hooks';
import {
  ApiError,
  type Approval,
  newIdempotencyKey,
  type Payment,
  type Policy,
  type Reason,
  type ReasonCode,
  reasonCodes,
} from '../../shared/api';
import { Button, ErrorBox, Notice } from '../../shared/components';
import { formatFen, parseYuan } from '../../shared/money';
import { useOffice } from '../app-context';
import { useI18n } from '../i18n';

/*
 * The fields every money action of the back office shares (order page: refund, void, adjust;
 * collections: off-site refund): the reason, an amount typed in yuan, the supervisors' approvals,
 * and one Idempotency-Key per attempt.
 */

/** The reason as it is being typed: "other" needs a note (reason_required otherwise). */
export interface ReasonDraft {
  code: ReasonCode;
  note: string;
}

export const emptyReason = (policy: Policy | null): ReasonDraft => ({
  code: policy?.reasons[0] ?? 'quality_issue',
  note: '',
});

/** The reason as the API takes it, or null while "other" has no note. */
export function reasonOf(d: ReasonDraft): Reason | null {
  const note = d.note.trim().slice(0, 200);
  if (d.code === 'other' && note === '') return null;
  return note ? { code: d.code, note } : { code: d.code };
}

/** The policy's reasons in use, as a picker; "other" opens a required note, the rest an optional one. */
export function OrderReasonField({
  value,
  onChange,
  policy,
}: {
  value: ReasonDraft;
  onChange: (r: ReasonDraft) => void;
  policy: Policy | null;
}) {
  const { t } = useI18n();
  const inUse = reasonCodes.filter((c) => !policy || policy.reasons.includes(c));
  return (
    <div class="order-reason">
      <label>
        {t('reasonCol')}
        <select
          name="reason"
          data-testid="reason"
          value={value.code}
          onChange={(e) => onChange({ ...value, code: e.currentTarget.value as ReasonCode })}
        >
          {inUse.map((c) => (
            <option key={c} value={c}>
              {t(`reason.${c}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {value.code === 'other' ? t('reasonNoteRequired') : t('reasonNote')}
        <input
          name="reasonNote"
          data-testid="reason-note"
          maxLength={200}
          autoComplete="off"
          value={value.note}
          required={value.code === 'other'}
          onInput={(e) => onChange({ ...value, note: e.currentTarget.value })}
        />
      </label>
    </div>
  );
}

/** An amount typed in yuan ("12.30"), with a button that fills in the whole of `max`. */
export function OrderAmountField({
  label,
  value,
  onChange,
  max,
  name = 'amount',
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  max?: number;
  name?: string;
}) {
  const { t } = useI18n();
  return (
    <div class="order-amount">
      <label>
        {label}
        <span class="yuan-input">
          <span aria-hidden="true">¥</span>
          <input
            name={name}
            class="yuan-field"
            data-testid={name}
            inputMode="decimal"
            autoComplete="off"
            maxLength={16}
            value={value}
            onInput={(e) => onChange(e.currentTarget.value.replace(/[^0-9.,¥]/g, ''))}
          />
        </span>
      </label>
      {max !== undefined ? (
        <button
          type="button"
          class="link-btn"
          data-testid={`${name}-full`}
          onClick={() => onChange(fenText(max))}
        >
          {t('fillAll', { amount: formatFen(max) })}
        </button>
      ) : null}
    </div>
  );
}

/** Fen as a person would type it in yuan: 123400 → "1234.00". */
const fenText = (fen: number): string =>
  `${Math.floor(fen / 100)}.${(fen % 100).toString().padStart(2, '0')}`;

/** A typed amount checked: the fen, or the words for what is wrong with it. */
export function checkAmount(
  text: string,
  max: number | null,
  t: ReturnType<typeof useI18n>['t'],
): { fen: number } | { problem: string } {
  const parsed = parseYuan(text);
  if (!parsed.ok) return { problem: t(`amount.${parsed.error}`) };
  if (max !== null && parsed.fen > max) return { problem: t('amountOver', { max: formatFen(max) }) };
  return { fen: parsed.fen };
}

/** Two approvals at the policy's large-refund threshold (双人核对), one below it. */
export const approvalsFor = (amount: number, policy: Policy | null): 1 | 2 =>
  policy && amount >= policy.largeRefundThreshold ? 2 : 1;

/**
 * The supervisors' numbers and refund passwords. The first number starts as the signed-in
 * supervisor's; a second, different supervisor is asked for at the threshold.
 */
export function useApprovers(count: 0 | 1 | 2) {
  const { session, role } = useOffice();
  const [list, setList] = useState<Approval[]>(() => [
    { operatorNo: role === 'supervisor' ? session.operator.no : '', password: '' },
    { operatorNo: '', password: '' },
  ]);
  const used = list.slice(0, count);
  const complete = used.every((a) => a.operatorNo.trim() !== '' && a.password !== '');
  const same =
    count === 2 &&
    used[0]?.operatorNo.trim() !== '' &&
    used[0]?.operatorNo.trim() === used[1]?.operatorNo.trim();
  return {
    list: used,
    complete,
    same,
    /** What the API takes: numbers trimmed. */
    approvals: (): Approval[] => used.map((a) => ({ operatorNo: a.operatorNo.trim(), password: a.password })),
    set: (i: number, a: Partial<Approval>) => setList((l) => l.map((x, j) => (j === i ? { ...x, ...a } : x))),
    /** After a refused approval: the passwords are typed again. */
    clearPasswords: () => setList((l) => l.map((x) => ({ ...x, password: '' }))),
  };
}

export type Approvers = ReturnType<typeof useApprovers>;

export function OrderApproversField({ approvers, legend }: { approvers: Approvers; legend?: string }) {
  const { t } = useI18n();
  return (
    <fieldset class="order-approvers">
      <legend>{legend ?? t('approvers')}</legend>
      {approvers.list.length > 1 ? <p class="muted">{t('secondApprover')}</p> : null}
      {approvers.list.map((a, i) => (
        <div class="approver" key={i}>
          <label>
            {t('supervisorNoN', { n: i + 1 })}
            <input
              name={`approver${i}`}
              data-testid={`approver-no-${i}`}
              value={a.operatorNo}
              maxLength={16}
              autoComplete="off"
              onInput={(e) => approvers.set(i, { operatorNo: e.currentTarget.value })}
            />
          </label>
          <label>
            {t('refundPasswordLabel')}
            <input
              type="password"
              name={`approverPassword${i}`}
              data-testid={`approver-password-${i}`}
              value={a.password}
              maxLength={64}
              autoComplete="off"
              onInput={(e) => approvers.set(i, { password: e.currentTarget.value })}
            />
          </label>
        </div>
      ))}
      {approvers.same ? <p class="field-problem">{t('needDifferent')}</p> : null}
    </fieldset>
  );
}

const APPROVAL_CODES = new Set([
  'supervisor_password_invalid',
  'supervisor_locked',
  'same_approver',
  'approver_not_authorised',
]);

/** A refusal of the approvals themselves: the passwords are typed again, nothing else changes. */
export const isApprovalError = (err: unknown): boolean =>
  err instanceof ApiError && APPROVAL_CODES.has(err.code);

/**
 * One attempt at a money action: busy, error, and one Idempotency-Key per `what` (the amount,
 * reason, method… being sent), kept across retries of the same thing — a retry after a lost
 * answer is then the same request, never a second refund — and new once `what` changes.
 */
export function useAttempt(onApprovalRefused?: () => void) {
  const key = useRef<{ what: string; key: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  /** The answer, or null after a refusal (then in `error`; refused approvals clear the passwords). */
  const run = async <T,>(what: unknown, send: (idempotencyKey: string) => Promise<T>): Promise<T | null> => {
    const fingerprint = JSON.stringify(what);
    if (key.current?.what !== fingerprint) key.current = { what: fingerprint, key: newIdempotencyKey() };
    setBusy(true);
    setError(null);
    try {
      return await send(key.current.key);
    } catch (err) {
      setError(err);
      if (isApprovalError(err)) onApprovalRefused?.();
      return null;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

/**
 * The foot of a money action's confirmation: the two-person notice at the threshold, the
 * approvals, the problem if any (and that retrying is safe), back and send.
 */
export function OrderConfirmFoot({
  amount,
  policy,
  approvers,
  attempt,
  onBack,
  submitLabel,
  testId,
}: {
  /** The money going back: what the large-refund threshold is compared with. */
  amount: number;
  policy: Policy | null;
  approvers: Approvers;
  attempt: ReturnType<typeof useAttempt>;
  onBack: () => void;
  submitLabel: string;
  testId: string;
}) {
  const { t } = useI18n();
  return (
    <>
      {amount > 0 && approvalsFor(amount, policy) === 2 && policy ? (
        <Notice kind="warn">{t('largeRefund', { threshold: formatFen(policy.largeRefundThreshold) })}</Notice>
      ) : null}
      <OrderApproversField approvers={approvers} />
      <ErrorBox error={attempt.error} />
      <div class="actions">
        <Button disabled={attempt.busy} onClick={onBack}>
          {t('back')}
        </Button>
        <Button
          variant="primary"
          type="submit"
          busy={attempt.busy}
          disabled={!approvers.complete || approvers.same}
          data-testid={testId}
        >
          {submitLabel}
        </Button>
      </div>
      {attempt.error && !isApprovalError(attempt.error) ? <p class="muted">{t('retrySafe')}</p> : null}
    </>
  );
}

/** What is left to refund of a payment, as the summary rows show it. */
export function refundableRows(p: Payment, t: ReturnType<typeof useI18n>['t']): [string, string, string?][] {
  return [
    [t('paid'), formatFen(p.amount)],
    [t('refunded'), formatFen(p.refundedAmount)],
    ...((p.inFlightAmount ?? 0) > 0
      ? [[t('inFlight'), formatFen(p.inFlightAmount)] as [string, string]]
      : []),
    [t('refundable'), formatFen(p.refundableAmount), 'refundable'],
  ];
}
