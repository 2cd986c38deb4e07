import type { Reason, Refund, RefundMethod } from '../../shared/api';
import { Button, Facts, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { useI18n } from '../i18n';
import { StatusBadge } from './common';

export interface Contact {
  name: string;
  phone: string;
  email: string;
}

/** What goes to POST /v1/refunds, without the approvals (they are not what the key stands for). */
export interface Draft {
  paymentId: string;
  amount: number;
  reason: Reason;
  method: RefundMethod;
  consumer?: Record<string, string>;
}

const WAITING: Refund['status'][] = ['requested', 'under_review'];

/** The consumer's name (unless a bank transfer asks for the holder's), phone and e-mail, all optional. */
export function CollectContactFields({
  value,
  onChange,
  withName,
}: {
  value: Contact;
  onChange: (c: Contact) => void;
  withName: boolean;
}) {
  const { t } = useI18n();
  return (
    <fieldset>
      <legend>{t('consumerContactOptional')}</legend>
      <div class="order-three">
        {withName ? (
          <label>
            {t('consumerName')}
            <input
              name="consumerName"
              data-testid="consumer-name"
              maxLength={64}
              autoComplete="off"
              value={value.name}
              onInput={(e) => onChange({ ...value, name: e.currentTarget.value })}
            />
          </label>
        ) : null}
        <label>
          {t('phone')}
          <input
            name="phone"
            data-testid="consumer-phone"
            inputMode="tel"
            maxLength={24}
            autoComplete="off"
            value={value.phone}
            onInput={(e) => onChange({ ...value, phone: e.currentTarget.value })}
          />
        </label>
        <label>
          {t('email')}
          <input
            name="email"
            data-testid="consumer-email"
            inputMode="email"
            maxLength={254}
            autoComplete="off"
            value={value.email}
            onInput={(e) => onChange({ ...value, email: e.currentTarget.value })}
          />
        </label>
      </div>
    </fieldset>
  );
}

/** What the off-site refund will be, before it is sent: the account only by its last four digits. */
export function CollectDraftFacts({ draft, orderNo, fee }: { draft: Draft; orderNo: string; fee: number }) {
  const { t } = useI18n();
  const account = draft.consumer?.bankAccount;
  return (
    <Facts
      rows={[
        [t('orderNo'), orderNo],
        [t('refundAmount'), formatFen(draft.amount), 'confirm-amount'],
        [t('fee'), formatFen(fee)],
        [t('netAmount'), formatFen(draft.amount - fee)],
        [t('methodCol'), t(`refundMethod.${draft.method}`), 'confirm-method'],
        [
          t('reasonCol'),
          `${t(`reason.${draft.reason.code}`)}${draft.reason.note ? ` · ${draft.reason.note}` : ''}`,
        ],
        ...(draft.consumer?.name ? [[t('consumerName'), draft.consumer.name] as [string, string]] : []),
        ...(account
          ? [[t('bankAccount'), `****${account.slice(-4)}`, 'confirm-account'] as [string, string, string]]
          : []),
        ...(draft.consumer?.phone ? [[t('phone'), draft.consumer.phone] as [string, string]] : []),
        ...(draft.consumer?.email ? [[t('email'), draft.consumer.email] as [string, string]] : []),
      ]}
    />
  );
}

/** The answer: in the review queue (with the way there) or sent; the account as the API masks it. */
export function CollectResult({ refund, onQueue }: { refund: Refund; onQueue: () => void }) {
  const { t } = useI18n();
  const waiting = WAITING.includes(refund.status);
  return (
    <section class="panel order-form" data-testid="collect-result">
      <h2>{t(waiting ? 'collectQueued' : 'collectSent')}</h2>
      <Notice kind={waiting ? 'warn' : 'info'}>
        <StatusBadge prefix="status" value={refund.status} />{' '}
        <span data-testid="collect-status" data-status={refund.status}>
          {t(waiting ? 'collectQueuedText' : 'collectSentText')}
        </span>
      </Notice>
      <Facts
        rows={[
          [t('refundId'), refund.id, 'result-refund-id'],
          [t('refundAmount'), formatFen(refund.amount)],
          [t('methodCol'), t(`refundMethod.${refund.method}`)],
          ...(refund.consumer?.name ? [[t('consumerName'), refund.consumer.name] as [string, string]] : []),
          ...(refund.consumer?.bankAccount
            ? [[t('bankAccount'), refund.consumer.bankAccount, 'masked-account'] as [string, string, string]]
            : []),
          [t('expectedArrival'), refund.expectedArrival],
        ]}
      />
      {waiting ? (
        <div class="actions">
          <Button variant="primary" data-testid="go-queue" onClick={onQueue}>
            {t('openQueue')}
          </Button>
        </div>
      ) : null}
    </section>
  );
}
