import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Refund, RefundStatus } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { useApp } from '../app-context';
import { useI18n } from '../i18n';
import { ReceiptDialog, SendVoucher } from './Receipt';
import { Button, ErrorBox, Facts } from './ui';

const FINAL: RefundStatus[] = ['succeeded', 'failed', 'rejected', 'canceled'];
/** The path of a counter refund through the network (PRODUCT.md §3 step 5–7). */
const TRACK: RefundStatus[] = ['approved', 'processing', 'succeeded'];
const POLL_MS = 600;
/** Refunds waiting for the back office change slowly: look less often. */
const POLL_WAITING_MS = 3_000;

/**
 * A refund followed live (`GET /v1/refunds/:id` until it ends), each status in words, then the
 * result: 退款金额, 实际应退金额, 手续费 and 预计到账 with print / send; or the failure's cause and
 * fix from `network.outcome`.
 */
export function RefundProgress({
  initial,
  actions,
}: {
  initial: Refund;
  actions: (refund: Refund) => ComponentChildren;
}) {
  const { api } = useApp();
  const { t, lang } = useI18n();
  const [refund, setRefund] = useState(initial);
  const [pollError, setPollError] = useState<unknown>(null);
  const [printing, setPrinting] = useState(false);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (current: Refund) => {
      if (FINAL.includes(current.status)) return;
      const waiting = current.status === 'requested' || current.status === 'under_review';
      timer = setTimeout(
        async () => {
          try {
            const next = await api.get<Refund>(`/v1/refunds/${current.id}`);
            if (!live) return;
            setPollError(null);
            setRefund(next);
            void tick(next);
          } catch (err) {
            if (!live) return;
            setPollError(err);
            void tick(current);
          }
        },
        waiting ? POLL_WAITING_MS : POLL_MS,
      );
    };
    void tick(initial);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, initial]);

  const outcome = refund.network?.outcome ?? null;
  const status = refund.status;
  const done = FINAL.includes(status);
  const title =
    status === 'succeeded'
      ? t('successTitle')
      : status === 'failed'
        ? t('failedTitle')
        : refund.delayed
          ? t('delayedTitle')
          : status === 'requested' || status === 'under_review'
            ? t('pendingTitle')
            : t(`status.${status}`);
  const contact = refund.consumer ? Object.values(refund.consumer).filter(Boolean).join(' / ') : '';

  return (
    <div
      class={`result result-${status}${refund.delayed ? ' result-delayed' : ''}`}
      data-testid="refund-result"
      data-status={status}
    >
      <div class="result-head">
        <span class="result-icon" aria-hidden="true">
          {status === 'succeeded' ? '✓' : status === 'failed' || status === 'rejected' ? '✕' : '…'}
        </span>
        <h2 data-testid="result-title">{title}</h2>
      </div>
      {!done ? (
        <ol class="track" aria-label={t('statusTitle')} data-testid="refund-status" data-status={status}>
          {TRACK.map((s) => {
            const at = TRACK.indexOf(status);
            const i = TRACK.indexOf(s);
            return (
              <li key={s} class={i < at ? 'done' : i === at ? 'current' : ''}>
                {t(`status.${s}`)}
              </li>
            );
          })}
        </ol>
      ) : null}
      {outcome && (status === 'failed' || refund.delayed) ? (
        <div
          class={status === 'failed' ? 'error-box' : 'notice notice-warn'}
          role="alert"
          data-testid="outcome"
        >
          <div class="error-message">{outcome.message[lang]}</div>
          <div class="error-fix">{outcome.fix[lang]}</div>
        </div>
      ) : status === 'failed' ? (
        <div class="error-box" role="alert">
          <div class="error-fix">{t('failedNothingMoved')}</div>
        </div>
      ) : null}
      <div class="two-col">
        <div class="figures">
          <Figure label={t('refundAmount')} value={formatFen(refund.amount)} testId="amount" />
          <Figure label={t('fee')} value={formatFen(refund.fee)} testId="fee" />
          <Figure label={t('netAmount')} value={formatFen(refund.netAmount)} testId="net" strong />
          <Figure label={t('expectedArrival')} value={refund.expectedArrival ?? '—'} testId="arrival" />
        </div>
        <div>
          <Facts
            rows={[
              [t('refundMethod'), t(`refundMethod.${refund.method}`)],
              [t('orderNo'), refund.orderNo],
              [t('refundNo'), refund.id, 'refund-id'],
              ...(refund.network?.reference
                ? [[t('reference'), refund.network.reference] as [string, string]]
                : []),
            ]}
          />
          {!done ? <p class="muted">{t('statusWaitHint')}</p> : null}
          {contact ? <p class="muted">{t('contactRecorded', { contact })}</p> : null}
        </div>
      </div>
      {pollError ? <ErrorBox error={pollError} /> : null}
      <div class="actions">
        {status === 'succeeded' ? (
          <Button variant="primary" data-testid="print" onClick={() => setPrinting(true)}>
            {t('print')}
          </Button>
        ) : null}
        {status === 'succeeded' && !sending ? (
          <Button variant="secondary" data-testid="send-voucher" onClick={() => setSending(true)}>
            {t('sendVoucher')}
          </Button>
        ) : null}
        {actions(refund)}
      </div>
      {status === 'succeeded' && sending ? (
        <SendVoucher refundId={refund.id} onClose={() => setSending(false)} />
      ) : null}
      {printing ? <ReceiptDialog refundId={refund.id} onClose={() => setPrinting(false)} /> : null}
    </div>
  );
}

function Figure({
  label,
  value,
  testId,
  strong,
}: {
  label: string;
  value: string;
  testId: string;
  strong?: boolean;
}) {
  return (
    <div class={`figure${strong ? ' figure-strong' : ''}`}>
      <span class="figure-label">{label}</span>
      <span class="figure-value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
}
