import { useEffect, useState } from 'preact/hooks';
import {
  ApiError,
  newIdempotencyKey,
  type Page,
  type Policy,
  q,
  type Refund,
  type RefundEvent,
} from '../../shared/api';
import { Button, ErrorBox, Facts, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { formatAge, formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { CsvButton, PageHead, StatusBadge, useLoad } from '../components/common';
import { EvidencePhotos } from '../components/EvidencePhotos';
import { approvalsFor, OrderApproversField, useApprovers } from '../components/OrderFields';
import { ReturnInspectDialog } from '../components/ReturnInspect';
import { hasKey, type MessageKey, useI18n } from '../i18n';

type Goods = 'intact' | 'damaged' | 'not_applicable';

/**
 * A refund from a QR return (扫码退货) whose goods are not inspected yet: accepting or approving it
 * would be refused (return_inspection_required). Inspected, it is under review or rejected.
 */
const awaitsInspection = (r: Refund): boolean => r.returnId !== null && r.status === 'requested';

/**
 * 退款审核: refunds not authorised at the counter (requested, under review), oldest first with
 * their age. Accept (受理) a request; review it with the checklist, optional evidence photos and
 * the refund password(s) — two supervisors at the large-refund threshold — or reject it with a
 * reason. A refund from a QR return is inspected (验货) first. Approved refunds go to the network
 * at once; the list follows. `?refund=<id>` opens that refund.
 */
export function QueuePage({ query }: { query: URLSearchParams }) {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const [selected, setSelected] = useState<string | null>(() => query.get('refund'));
  const [now, setNow] = useState(() => Date.now());
  const queue = useLoad(
    () =>
      api.get<Page<Refund>>(
        `/v1/refunds${q({ status: 'requested,under_review', order: 'oldest', limit: 100 })}`,
      ),
    [],
  );
  const policy = useLoad(() => api.get<Policy>('/v1/policy'), []);
  // Ages tick while the page is open.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);

  const [outcome, setOutcome] = useState<Refund | null>(null);
  const rows = queue.data?.data ?? [];
  const current = rows.find((r) => r.id === selected) ?? null;

  return (
    <section class="queue">
      <PageHead title={t('queueTitle')}>
        <CsvButton
          path={`/v1/exports/refunds.csv${q({ status: 'requested,under_review' })}`}
          filename="refund-queue.csv"
        />
        <button type="button" class="btn btn-secondary" onClick={queue.reload}>
          {t('refresh')}
        </button>
      </PageHead>
      <p class="muted">{t('queueHint')}</p>
      <ErrorBox error={queue.error} />
      {outcome ? (
        <Notice>
          <span data-testid="review-done" data-status={outcome.status}>
            {t('reviewOutcome', { order: outcome.orderNo, status: t(`status.${outcome.status}`) })}
          </span>
        </Notice>
      ) : null}
      <div class="split">
        <div class="list-pane">
          {rows.length === 0 && !queue.loading ? <p class="empty">{t('queueEmpty')}</p> : null}
          <table class="grid" data-testid="queue">
            <thead>
              <tr>
                <th>{t('orderNo')}</th>
                <th class="num">{t('amount')}</th>
                <th>{t('reasonCol')}</th>
                <th>{t('statusCol')}</th>
                <th>{t('createdAt')}</th>
                <th>{t('age')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr
                  key={r.id}
                  class={r.id === selected ? 'on' : undefined}
                  data-refund={r.id}
                  tabIndex={0}
                  onClick={() => setSelected(r.id)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') setSelected(r.id);
                  }}
                >
                  <td>
                    {r.orderNo}
                    {r.hold ? (
                      <span class="badge badge-failed hold" title={r.hold.detail}>
                        {t('heldBy', { rule: ruleText(r.hold.rule, t) })}
                      </span>
                    ) : null}
                    {awaitsInspection(r) ? (
                      <span class="badge badge-open hold" data-testid="inspect-first">
                        {t('inspectFirst')}
                      </span>
                    ) : null}
                  </td>
                  <td class="num">{formatFen(r.amount)}</td>
                  <td>{t(`reason.${r.reason.code}`)}</td>
                  <td>
                    <StatusBadge prefix="status" value={r.status} />
                  </td>
                  <td>{formatDateTime(r.createdAt, timeZone, lang)}</td>
                  <td data-testid="age">{formatAge((now - Date.parse(r.createdAt)) / 1000, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {current ? (
          <ReviewPanel
            key={`${current.id}|${current.status}`}
            refund={current}
            policy={policy.data}
            onChanged={(updated) => {
              // The answer says where the refund went: still in the queue (accepted → review it
              // now) or out of it (approved → at the network, rejected).
              setOutcome(updated);
              queue.reload();
            }}
          />
        ) : null}
      </div>
    </section>
  );
}

function ruleText(rule: string, t: (key: MessageKey) => string): string {
  const key = `rule.${rule}`;
  return hasKey(key) ? t(key) : rule;
}

function ReviewPanel({
  refund,
  policy,
  onChanged,
}: {
  refund: Refund;
  policy: Policy | null;
  onChanged: (updated: Refund) => void;
}) {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [rejectNote, setRejectNote] = useState('');
  const [voucher, setVoucher] = useState(false);
  const [amountOk, setAmountOk] = useState(false);
  const [goods, setGoods] = useState<Goods>('intact');
  const [note, setNote] = useState('');
  // Approvals still missing: a held refund keeps its counter approvals, and a second person releases it.
  const required = refund.nextStep?.approvalsRequired ?? approvalsFor(refund.amount, policy);
  const needed = Math.min(2, Math.max(1, required - (refund.nextStep?.approvalsGiven ?? 0))) as 1 | 2;
  const approvers = useApprovers(needed);
  const events = useLoad(
    () => api.get<{ data: RefundEvent[] }>(`/v1/refunds/${encodeURIComponent(refund.id)}/events`),
    [refund.id],
  );

  // One key per action on this refund in this panel: a retried click is the same request.
  const [keys] = useState(() => ({
    accept: newIdempotencyKey(),
    approve: newIdempotencyKey(),
    reject: newIdempotencyKey(),
  }));

  const act = async (name: 'accept' | 'approve' | 'reject', run: () => Promise<Refund>) => {
    setBusy(name);
    setError(null);
    try {
      onChanged(await run());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const accept = () =>
    act('accept', () => api.post<Refund>(`/v1/refunds/${refund.id}/accept`, {}, keys.accept));
  const reject = () => {
    if (rejectNote.trim() === '') {
      setError(new ApiError({ status: 422, code: 'reason_required' }));
      return;
    }
    return act('reject', () =>
      api.post<Refund>(`/v1/refunds/${refund.id}/reject`, { note: rejectNote.trim() }, keys.reject),
    );
  };
  const approve = () =>
    act('approve', () =>
      api.post<Refund>(
        `/v1/refunds/${refund.id}/approve`,
        {
          approvals: approvers.approvals(),
          checklist: {
            voucherMatches: voucher,
            amountMatches: amountOk,
            goodsCondition: goods,
            ...(note.trim() ? { note: note.trim() } : {}),
          },
        },
        keys.approve,
      ),
    );

  const reviewing = refund.status === 'under_review';
  return (
    <aside class="panel review" aria-label={t('refundDetail')} data-testid="review-panel">
      <h2>
        {t('refundDetail')} · {refund.orderNo}
      </h2>
      {refund.hold ? (
        <Notice kind="warn">
          <span data-testid="hold-rule">{t('heldBy', { rule: ruleText(refund.hold.rule, t) })}</span>
          <br />
          <span class="muted">{refund.hold.detail}</span>
        </Notice>
      ) : null}
      <Facts
        rows={[
          [t('amount'), formatFen(refund.amount), 'review-amount'],
          [
            t('reasonCol'),
            `${t(`reason.${refund.reason.code}`)}${refund.reason.note ? ` · ${refund.reason.note}` : ''}`,
          ],
          [t('methodCol'), t(`refundMethod.${refund.method}`)],
          [t('statusCol'), <StatusBadge key="s" prefix="status" value={refund.status} />],
          [t('createdAt'), formatDateTime(refund.createdAt, timeZone, lang)],
          ...(refund.consumer
            ? ([
                [
                  t('consumer'),
                  [
                    refund.consumer.name,
                    refund.consumer.phone,
                    refund.consumer.email,
                    refund.consumer.bankAccount,
                  ]
                    .filter(Boolean)
                    .join(' · '),
                ],
              ] as [string, string][])
            : []),
        ]}
      />
      {events.data ? (
        <details class="history-box">
          <summary>{t('history')}</summary>
          <ol>
            {events.data.data.map((e) => (
              <li key={`${e.at}|${e.to}`}>
                {formatDateTime(e.at, timeZone, lang)} · {t(`status.${e.to}`)} · {e.actor}
                {e.note ? ` · ${e.note}` : ''}
              </li>
            ))}
          </ol>
        </details>
      ) : null}

      {awaitsInspection(refund) && refund.returnId ? (
        <InspectFirst returnId={refund.returnId} refundId={refund.id} onChanged={onChanged} />
      ) : refund.status === 'requested' ? (
        <div class="actions">
          <Button variant="primary" busy={busy === 'accept'} onClick={accept} data-testid="accept">
            {t('accept')}
          </Button>
        </div>
      ) : reviewing ? (
        <form
          class="checklist"
          onSubmit={(e) => {
            e.preventDefault();
            void approve();
          }}
        >
          <fieldset>
            <legend>{t('checklist')}</legend>
            <label class="check">
              <input
                type="checkbox"
                name="voucherMatches"
                checked={voucher}
                onChange={(e) => setVoucher(e.currentTarget.checked)}
              />
              {t('checkVoucher')}
            </label>
            <label class="check">
              <input
                type="checkbox"
                name="amountMatches"
                checked={amountOk}
                onChange={(e) => setAmountOk(e.currentTarget.checked)}
              />
              {t('checkAmount')}
            </label>
            <label>
              {t('goodsCondition')}
              <select
                name="goodsCondition"
                value={goods}
                onChange={(e) => setGoods(e.currentTarget.value as Goods)}
              >
                {(['intact', 'damaged', 'not_applicable'] as const).map((g) => (
                  <option key={g} value={g}>
                    {t(`goods.${g}`)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t('reviewNote')}
              <input
                name="reviewNote"
                value={note}
                maxLength={500}
                onInput={(e) => setNote(e.currentTarget.value)}
              />
            </label>
          </fieldset>
          <EvidencePhotos refundId={refund.id} />
          <OrderApproversField approvers={approvers} />
          <div class="actions">
            <Button
              variant="primary"
              type="submit"
              busy={busy === 'approve'}
              disabled={!voucher || !amountOk || !approvers.complete || approvers.same}
              data-testid="approve"
            >
              {t('approve')}
            </Button>
          </div>
        </form>
      ) : null}

      {(refund.status === 'requested' && !awaitsInspection(refund)) || reviewing ? (
        <div class="reject">
          <label>
            {t('rejectReason')}
            <input
              name="rejectNote"
              value={rejectNote}
              maxLength={500}
              onInput={(e) => setRejectNote(e.currentTarget.value)}
            />
          </label>
          <Button variant="danger" busy={busy === 'reject'} onClick={reject} data-testid="reject">
            {t('reject')}
          </Button>
        </div>
      ) : null}
      <ErrorBox error={error} />
    </aside>
  );
}

/**
 * A QR return's refund before its goods are inspected: neither accept nor reject here, but the
 * inspection (accepted → under review, approved next with the checklist; rejected → rejected).
 */
function InspectFirst({
  returnId,
  refundId,
  onChanged,
}: {
  returnId: string;
  refundId: string;
  onChanged: (updated: Refund) => void;
}) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <div class="inspect-first">
      <Notice kind="warn">{t('inspectFirstHint')}</Notice>
      <div class="actions">
        <Button variant="primary" onClick={() => setOpen(true)} data-testid="inspect">
          {t('inspect')}
        </Button>
      </div>
      <ErrorBox error={error} />
      {open ? (
        <ReturnInspectDialog
          returnId={returnId}
          onClose={() => setOpen(false)}
          onDone={() => {
            // The refund moved with the inspection: the panel shows it as it now is.
            api.get<Refund>(`/v1/refunds/${encodeURIComponent(refundId)}`).then(onChanged, setError);
          }}
        />
      ) : null}
    </div>
  );
}
