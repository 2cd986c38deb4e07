import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { newIdempotencyKey, type Refund, type RefundStatus, type ReturnInfo } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useApp } from '../app-context';
import { useI18n } from '../i18n';
import { ReturnSlipDialog } from './ReturnSlip';
import { Button, ErrorBox, Facts, Notice, useEscape } from './ui';

/** An open QR is looked at this often: the cashier sees the consumer's submission within seconds. */
const POLL_OPEN_MS = 3_000;
/** A submitted return waits for the back office: its refund changes slowly. */
const POLL_SUBMITTED_MS = 6_000;
const REFUND_FINAL: RefundStatus[] = ['succeeded', 'failed', 'rejected', 'canceled'];
/** Shown at least this big (CSS px), in whole multiples of the PNG's pixels: a phone reads it at arm's length. */
const QR_MIN_PX = 300;

/** The link and its QR, which only the answer that created the return carries. */
export interface ShownQr {
  url: string;
  qrPng: string;
}

/**
 * A return followed live: `GET /v1/returns/:id` while its QR is open, then, once the consumer has
 * submitted it, its refund (`GET /v1/refunds/:refundId`) until that ends.
 */
function useFollowReturn(initial: ReturnInfo) {
  const { api } = useApp();
  const [ret, setRet] = useState(initial);
  const [refund, setRefund] = useState<Refund | null>(null);
  const [pollError, setPollError] = useState<unknown>(null);
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    const waiting =
      ret.status === 'submitted' && ret.refundId && !(refund && REFUND_FINAL.includes(refund.status));
    if (ret.status !== 'open' && !waiting) return;
    let live = true;
    const timer = setTimeout(
      async () => {
        try {
          const next = await api.get<ReturnInfo>(`/v1/returns/${encodeURIComponent(ret.id)}`);
          const r = next.refundId
            ? await api.get<Refund>(`/v1/refunds/${encodeURIComponent(next.refundId)}`)
            : null;
          if (!live) return;
          setPollError(null);
          if (r) setRefund(r);
          setRet(next);
        } catch (err) {
          if (!live) return;
          setPollError(err);
          setRetry((n) => n + 1);
        }
      },
      ret.status === 'open' ? POLL_OPEN_MS : POLL_SUBMITTED_MS,
    );
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, ret, refund, retry]);

  return { ret, setRet, refund, pollError };
}

/** Whole seconds until `expiresAt` on the server's clock (`skewMs` = server − this terminal). */
function useSecondsLeft(expiresAt: string, skewMs: number, running: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [running]);
  return Math.max(0, Math.ceil((Date.parse(expiresAt) - now - skewMs) / 1_000));
}

const mmss = (s: number) => `${Math.floor(s / 60)}:${(s % 60).toString().padStart(2, '0')}`;

/**
 * The return QR shown to the consumer: large and crisp, with the lines, the amount and a countdown;
 * its status as it changes (等待顾客扫码 → 顾客已提交, or 已过期 / 已撤回); print the slip; withdraw.
 */
export function ReturnQr({
  initial,
  qr,
  skewMs,
  actions,
}: {
  initial: ReturnInfo;
  qr: ShownQr | null;
  skewMs: number;
  actions: ComponentChildren;
}) {
  const { merchant } = useApp();
  const { t, lang } = useI18n();
  const { ret, setRet, refund, pollError } = useFollowReturn(initial);
  const open = ret.status === 'open';
  const left = useSecondsLeft(ret.expiresAt, skewMs, open);
  const [printing, setPrinting] = useState(false);
  const [withdrawing, setWithdrawing] = useState(false);

  return (
    <div class={open ? 'return-view' : 'return-view closed'} data-testid="return-view" data-return={ret.id}>
      {open ? (
        <div class="qr-side">
          {qr ? <QrImage png={qr.qrPng} url={qr.url} /> : <Notice kind="warn">{t('returnQrGone')}</Notice>}
          {qr ? <p class="qr-hint">{t('returnScanHint')}</p> : null}
        </div>
      ) : null}
      <div class="return-side">
        <p class={`return-status return-${ret.status}`} data-testid="return-status" data-status={ret.status}>
          {t(`return.${ret.status}`)}
        </p>
        {open ? (
          <p class="countdown" data-testid="return-countdown" role="timer">
            {t('returnExpiresIn', { time: mmss(left) })}
          </p>
        ) : null}
        <StatusNote ret={ret} refund={refund} />
        <Facts
          rows={[
            [t('orderNo'), ret.orderNo, 'return-order'],
            [t('items'), ret.items.map((i) => `${i.name} × ${i.qty}`).join('，'), 'return-items'],
            [t('refundAmount'), <strong key="a">{formatFen(ret.amount)}</strong>, 'return-amount'],
            [t('returnExpiresAt'), formatDateTime(ret.expiresAt, merchant.timeZone, lang), 'return-expires'],
          ]}
        />
        <ErrorBox error={pollError} />
        <div class="actions">
          {open && qr ? (
            <Button variant="primary" data-testid="return-print" onClick={() => setPrinting(true)}>
              {t('returnPrint')}
            </Button>
          ) : null}
          {open ? (
            <Button variant="danger" data-testid="return-withdraw" onClick={() => setWithdrawing(true)}>
              {t('returnWithdraw')}
            </Button>
          ) : null}
          {actions}
        </div>
      </div>
      {printing && qr ? (
        <ReturnSlipDialog ret={ret} qrPng={qr.qrPng} onClose={() => setPrinting(false)} />
      ) : null}
      {withdrawing ? (
        <WithdrawDialog
          ret={ret}
          onDone={(next) => {
            if (next) setRet(next);
            setWithdrawing(false);
          }}
        />
      ) : null}
    </div>
  );
}

/** The PNG at a whole multiple of its own pixels, at least QR_MIN_PX: no blurred module edges. */
function QrImage({ png, url }: { png: string; url: string }) {
  const { t } = useI18n();
  const [px, setPx] = useState<number | null>(null);
  return (
    <img
      class="return-qr"
      data-testid="return-qr"
      data-url={url}
      alt={t('stepQr')}
      src={`data:image/png;base64,${png}`}
      style={px ? { width: `${px}px`, height: `${px}px` } : undefined}
      onLoad={(e) => {
        const natural = e.currentTarget.naturalWidth;
        if (natural > 0) setPx(natural * Math.max(1, Math.ceil(QR_MIN_PX / natural)));
      }}
    />
  );
}

function StatusNote({ ret, refund }: { ret: ReturnInfo; refund: Refund | null }) {
  const { t } = useI18n();
  if (ret.status === 'expired') return <Notice kind="warn">{t('returnExpiredHint')}</Notice>;
  if (ret.status === 'canceled') return <Notice>{t('returnCanceledHint')}</Notice>;
  if (ret.status !== 'submitted') return null;
  return (
    <div class="notice notice-info" role="status" data-testid="return-submitted">
      <p>{t('returnInQueue', { id: ret.refundId ?? '—' })}</p>
      {ret.inspection ? (
        <p data-testid="return-inspection">{t(`inspection.${ret.inspection.result}`)}</p>
      ) : null}
      {refund ? (
        <p data-testid="return-refund-status" data-status={refund.status}>
          {t('refundStatus')}：{t(`status.${refund.status}`)}
        </p>
      ) : null}
    </div>
  );
}

/** 撤回 asked once more: the consumer's phone may be open on the page. One key per dialog. */
function WithdrawDialog({ ret, onDone }: { ret: ReturnInfo; onDone: (next: ReturnInfo | null) => void }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [key] = useState(newIdempotencyKey);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEscape(() => onDone(null));

  const withdraw = async () => {
    setBusy(true);
    setError(null);
    try {
      onDone(await api.post<ReturnInfo>(`/v1/returns/${encodeURIComponent(ret.id)}/cancel`, {}, key));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="alertdialog" aria-modal="true" aria-label={t('returnWithdraw')}>
        <h2>{t('returnWithdraw')}</h2>
        <p>{t('returnWithdrawAsk')}</p>
        <ErrorBox error={error} />
        <div class="dialog-actions">
          <Button onClick={() => onDone(null)}>{t('cancel')}</Button>
          <Button variant="danger" busy={busy} data-testid="return-withdraw-confirm" onClick={withdraw}>
            {t('returnWithdrawDo')}
          </Button>
        </div>
      </div>
    </div>
  );
}
