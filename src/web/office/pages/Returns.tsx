import { useEffect, useState } from 'preact/hooks';
import { newIdempotencyKey, q, type ReturnInfo, type ReturnStatus } from '../../shared/api';
import { Button, ErrorBox } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { PageHead, StatusBadge, useLoad } from '../components/common';
import { ConfirmDialog, keyAfter } from '../components/Dialog';
import { ReturnInspectDialog, returnItemsText } from '../components/ReturnInspect';
import { useI18n } from '../i18n';

/** The API's filter values, in the order of a return's life; '' is every return. */
const STATUSES: readonly ReturnStatus[] = ['open', 'submitted', 'expired', 'canceled'];
/** The newest returns the page shows (the API's list has no cursor; it answers at most 100). */
const LIMIT = 100;

type Filters = { status: ReturnStatus | ''; orderNo: string };

function filtersOf(query: URLSearchParams): Filters {
  const status = query.get('status') ?? '';
  return {
    status: STATUSES.find((s) => s === status) ?? '',
    orderNo: (query.get('orderNo') ?? '').trim(),
  };
}

/**
 * 扫码退货: the merchant's return QRs, newest first, filtered by status and order (in the URL):
 * the lines, the amount, when each was shown, expires and was submitted (merchant time zone).
 * An open QR can be withdrawn; a submitted one waits for its inspection (验货), after which its
 * refund goes through the review queue.
 */
export function ReturnsPage({ query }: { query: URLSearchParams }) {
  const { api, go } = useOffice();
  const { t } = useI18n();
  const applied = filtersOf(query);
  const [draft, setDraft] = useState<Filters>(applied);
  // The URL changed (a search, the back button): the fields show it.
  useEffect(() => setDraft(applied), [applied.status, applied.orderNo]);
  const [withdrawing, setWithdrawing] = useState<ReturnInfo | null>(null);
  const [inspecting, setInspecting] = useState<string | null>(null);
  const list = useLoad(
    () =>
      api.get<{ data: ReturnInfo[] }>(
        `/v1/returns${q({ status: applied.status, orderNo: applied.orderNo, limit: LIMIT })}`,
      ),
    [applied.status, applied.orderNo],
  );
  const rows = list.data?.data ?? [];

  return (
    <section class="returns" data-testid="returns-page">
      <PageHead title={t('returnsTitle')}>
        <button type="button" class="btn btn-secondary" data-testid="returns-refresh" onClick={list.reload}>
          {t('refresh')}
        </button>
      </PageHead>
      <p class="muted">{t('returnsHint')}</p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go(`returns${q({ status: draft.status, orderNo: draft.orderNo.trim() })}`);
        }}
      >
        <label>
          {t('statusCol')}
          <select
            name="status"
            data-testid="returns-status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value as Filters['status'] })}
          >
            <option value="">{t('returnsAll')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`return.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('orderNo')}
          <input
            name="orderNo"
            data-testid="returns-order"
            value={draft.orderNo}
            maxLength={64}
            autoComplete="off"
            onInput={(e) => setDraft({ ...draft, orderNo: e.currentTarget.value })}
          />
        </label>
        <div class="actions">
          <Button variant="primary" type="submit">
            {t('apply')}
          </Button>
        </div>
      </form>
      <ErrorBox error={list.error} />
      {rows.length === 0 && !list.loading ? <p class="empty">{t('returnsEmpty')}</p> : null}
      <ReturnsTable
        rows={rows}
        onWithdraw={setWithdrawing}
        onInspect={(r) => setInspecting(r.id)}
        onReview={(r) => go(`queue?refund=${encodeURIComponent(r.refundId ?? '')}`)}
      />
      {withdrawing ? (
        <WithdrawDialog
          ret={withdrawing}
          onClose={() => setWithdrawing(null)}
          onDone={() => {
            setWithdrawing(null);
            list.reload();
          }}
        />
      ) : null}
      {inspecting ? (
        <ReturnInspectDialog
          returnId={inspecting}
          onClose={() => setInspecting(null)}
          onDone={() => list.reload()}
        />
      ) : null}
    </section>
  );
}

/** Whether a return's goods wait for the inspection: submitted by the consumer, not yet inspected. */
export const awaitsInspection = (r: ReturnInfo): boolean =>
  r.status === 'submitted' && r.inspection === null && r.refundId !== null;

function ReturnsTable({
  rows,
  onWithdraw,
  onInspect,
  onReview,
}: {
  rows: ReturnInfo[];
  onWithdraw: (r: ReturnInfo) => void;
  onInspect: (r: ReturnInfo) => void;
  onReview: (r: ReturnInfo) => void;
}) {
  const { timeZone, go } = useOffice();
  const { t, lang } = useI18n();
  const time = (iso: string | null) => (iso ? formatDateTime(iso, timeZone, lang) : '—');
  return (
    <div class="order-scroll">
      <table class="grid static" data-testid="returns">
        <thead>
          <tr>
            <th>{t('orderNo')}</th>
            <th>{t('itemsCol')}</th>
            <th class="num">{t('amount')}</th>
            <th>{t('statusCol')}</th>
            <th>{t('inspectionCol')}</th>
            <th>{t('createdCol')}</th>
            <th>{t('expiresAtCol')}</th>
            <th>{t('submittedCol')}</th>
            <th>{t('actions')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-testid="return-row" data-return={r.id} data-status={r.status}>
              <td>
                <a
                  class="link-btn"
                  href={`/office/orders/${encodeURIComponent(r.orderNo)}`}
                  onClick={(e) => {
                    e.preventDefault();
                    go(`orders/${encodeURIComponent(r.orderNo)}`);
                  }}
                >
                  {r.orderNo}
                </a>
              </td>
              <td>{returnItemsText(r)}</td>
              <td class="num">{formatFen(r.amount)}</td>
              <td>
                <StatusBadge prefix="return" value={r.status} />
              </td>
              <td data-testid="return-inspection" data-result={r.inspection?.result ?? ''}>
                {r.inspection ? (
                  <span title={r.inspection.note ?? undefined}>
                    <StatusBadge prefix="inspection" value={r.inspection.result} />
                    {r.inspection.note ? <span class="muted"> {r.inspection.note}</span> : null}
                  </span>
                ) : awaitsInspection(r) ? (
                  <span class="badge badge-open">{t('inspectionPending')}</span>
                ) : (
                  '—'
                )}
              </td>
              <td class="order-nowrap">{time(r.createdAt)}</td>
              <td class="order-nowrap">
                {r.status === 'open' || r.status === 'expired' ? time(r.expiresAt) : '—'}
              </td>
              <td class="order-nowrap">{time(r.submittedAt)}</td>
              <td class="order-row-actions">
                {r.status === 'open' ? (
                  <button type="button" class="link-btn" data-testid="withdraw" onClick={() => onWithdraw(r)}>
                    {t('withdraw')}
                  </button>
                ) : null}
                {awaitsInspection(r) ? (
                  <Button variant="primary" data-testid="inspect" onClick={() => onInspect(r)}>
                    {t('inspect')}
                  </Button>
                ) : null}
                {r.inspection?.result === 'accepted' && r.refundId ? (
                  <button type="button" class="link-btn" data-testid="to-queue" onClick={() => onReview(r)}>
                    {t('toQueue')}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** 撤回: the QR stops working and its lines are free again. */
function WithdrawDialog({
  ret,
  onClose,
  onDone,
}: {
  ret: ReturnInfo;
  onClose: () => void;
  onDone: () => void;
}) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [key, setKey] = useState(newIdempotencyKey);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.post<ReturnInfo>(`/v1/returns/${encodeURIComponent(ret.id)}/cancel`, {}, key);
      onDone();
    } catch (err) {
      setError(err);
      setKey(keyAfter(err, key));
    } finally {
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog
      title={t('withdrawTitle')}
      text={t('withdrawText', { orderNo: ret.orderNo, amount: formatFen(ret.amount) })}
      confirmLabel={t('withdraw')}
      danger
      busy={busy}
      error={error}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    />
  );
}
