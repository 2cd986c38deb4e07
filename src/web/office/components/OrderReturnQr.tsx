import { useEffect, useState } from 'preact/hooks';
import type { LineItem, Order, ReturnCreated, ReturnInfo } from '../../shared/api';
import { Button, ErrorBox, Facts, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { useI18n } from '../i18n';
import { StatusBadge, useLoad } from './common';
import { Dialog } from './Dialog';
import { useAttempt } from './OrderFields';
import { returnItemsText } from './ReturnInspect';

/** The server's bounds of one line (ReturnBody): units per line. */
const MAX_QTY = 10_000;
/** While the QR is shown, how often the page asks whether the customer has submitted it. */
const WATCH_MS = 4_000;
const WATCH_LIMIT = 450;

type Picked = Record<string, string>;
/** No line chosen, or a quantity that is not a whole number within what can be returned. */
type Problem = { problem: 'none' } | { problem: 'qty'; sku: string };

/**
 * Units of each line that can still go on a return: bought, minus refunded or in a refund
 * (`refundedQty`), minus held by the order's other open return QRs. The server decides again under
 * the sale's lock; this only keeps the form from offering what it would refuse.
 */
function returnable(items: LineItem[], open: ReturnInfo[]): Map<string, number> {
  const held = new Map<string, number>();
  for (const r of open) for (const l of r.items) held.set(l.sku, (held.get(l.sku) ?? 0) + l.qty);
  return new Map(items.map((i) => [i.sku, Math.max(0, i.qty - i.refundedQty - (held.get(i.sku) ?? 0))]));
}

/** The lines asked for, or the first problem of the form. */
function linesOf(
  picked: Picked,
  left: Map<string, number>,
): { lines: { sku: string; qty: number }[] } | Problem {
  const lines: { sku: string; qty: number }[] = [];
  for (const [sku, text] of Object.entries(picked)) {
    if (text.trim() === '' || text.trim() === '0') continue;
    const qty = Number(text);
    if (!Number.isInteger(qty) || qty < 0 || qty > Math.min(MAX_QTY, left.get(sku) ?? 0))
      return { problem: 'qty', sku };
    lines.push({ sku, qty });
  }
  return lines.length > 0 ? { lines } : { problem: 'none' };
}

/**
 * 生成退货二维码 from the order page (PRODUCT.md §5): the returned lines and quantities → POST
 * /v1/returns → the QR, large, with its amount, expiry and link (for a customer at the service desk,
 * or on a call). The dialog then follows the return until the customer submits it.
 */
export function OrderReturnQrDialog({
  order,
  onClose,
  onDone,
}: {
  order: Order;
  onClose: () => void;
  onDone: () => void;
}) {
  const { api } = useOffice();
  const { t } = useI18n();
  const sale = order.payments.find((p) => p.kind === 'sale');
  const items = sale?.items ?? [];
  const open = useLoad(
    () =>
      api.get<{ data: ReturnInfo[] }>(
        `/v1/returns?orderNo=${encodeURIComponent(order.orderNo)}&status=open&limit=100`,
      ),
    [order.orderNo],
  );
  const left = returnable(items, open.data?.data ?? []);
  const [picked, setPicked] = useState<Picked>({});
  const [problem, setProblem] = useState<Problem | null>(null);
  const [created, setCreated] = useState<ReturnCreated | null>(null);
  const attempt = useAttempt();

  const total = items.reduce((s, i) => {
    const qty = Number(picked[i.sku] ?? '');
    return Number.isInteger(qty) && qty > 0 ? s + qty * i.unitAmount : s;
  }, 0);

  const submit = async (e: Event) => {
    e.preventDefault();
    const found = linesOf(picked, left);
    if ('problem' in found) return setProblem(found);
    const body = { orderNo: order.orderNo, items: found.lines };
    const answer = await attempt.run(body, (key) => api.post<ReturnCreated>('/v1/returns', body, key));
    if (answer) {
      setCreated(answer);
      onDone();
    }
  };

  return (
    <Dialog
      wide
      title={t('returnQrTitle', { orderNo: order.orderNo })}
      testId="return-qr-dialog"
      busy={attempt.busy}
      onClose={onClose}
    >
      {created ? (
        <ReturnQrShown created={created} onClose={onClose} />
      ) : items.length === 0 ? (
        <Notice kind="warn">{t('returnNoItems')}</Notice>
      ) : (
        <form class="order-form" noValidate onSubmit={submit}>
          <p class="muted">{t('returnQrHint')}</p>
          <table class="grid static" data-testid="return-lines">
            <thead>
              <tr>
                <th>{t('itemCol')}</th>
                <th class="num">{t('unitPriceCol')}</th>
                <th class="num">{t('boughtCol')}</th>
                <th class="num">{t('returnableCol')}</th>
                <th class="num">{t('returnQtyCol')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((i) => (
                <tr key={i.sku} data-sku={i.sku}>
                  <td>
                    {i.name} <span class="muted mono">{i.sku}</span>
                  </td>
                  <td class="num">{formatFen(i.unitAmount)}</td>
                  <td class="num">{i.qty}</td>
                  <td class="num" data-testid="return-left">
                    {left.get(i.sku) ?? 0}
                  </td>
                  <td class="num">
                    <input
                      type="number"
                      class="qty-field"
                      name={`returnQty-${i.sku}`}
                      data-testid="return-qty"
                      min={0}
                      max={left.get(i.sku) ?? 0}
                      step={1}
                      disabled={(left.get(i.sku) ?? 0) === 0}
                      aria-invalid={problem?.problem === 'qty' && problem.sku === i.sku ? 'true' : undefined}
                      value={picked[i.sku] ?? ''}
                      onInput={(e) => {
                        const v = e.currentTarget.value;
                        setProblem(null);
                        setPicked((p) => ({ ...p, [i.sku]: v }));
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">{t('returnHeld')}</p>
          <Facts rows={[[t('returnTotal'), <strong key="t">{formatFen(total)}</strong>, 'return-total']]} />
          {problem ? (
            <Notice kind="warn">
              <span data-testid="return-problem">
                {problem.problem === 'qty'
                  ? t('returnQtyTooMany', {
                      item: items.find((i) => i.sku === problem.sku)?.name ?? problem.sku,
                      n: left.get(problem.sku) ?? 0,
                    })
                  : t('returnNoLines')}
              </span>
            </Notice>
          ) : null}
          <ErrorBox error={attempt.error ?? open.error} />
          <div class="actions modal-actions">
            <Button onClick={onClose}>{t('cancel')}</Button>
            <Button variant="primary" type="submit" busy={attempt.busy} data-testid="return-qr-make">
              {t('returnQrMake')}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** The QR, large, its amount, expiry and link; its status follows until the customer submits. */
function ReturnQrShown({ created, onClose }: { created: ReturnCreated; onClose: () => void }) {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const [status, setStatus] = useState(created.status);
  const [copied, setCopied] = useState<boolean | null>(null);
  useEffect(() => {
    if (status !== 'open') return;
    let polls = 0;
    const timer = setInterval(() => {
      if (++polls > WATCH_LIMIT) return clearInterval(timer);
      api.get<ReturnInfo>(`/v1/returns/${encodeURIComponent(created.id)}`).then(
        (r) => setStatus(r.status),
        () => {},
      );
    }, WATCH_MS);
    return () => clearInterval(timer);
  }, [status, created.id]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.url);
      setCopied(true);
    } catch {
      // No clipboard (an http page, a refused permission): the link is selected for Ctrl+C instead.
      (document.getElementById('return-qr-url') as HTMLInputElement | null)?.select();
      setCopied(false);
    }
  };
  return (
    <div class="return-qr" data-testid="return-qr" data-return={created.id}>
      <img
        class="return-qr-image"
        data-testid="return-qr-image"
        src={`data:image/png;base64,${created.qrPng}`}
        alt={t('returnQrAlt')}
        width={320}
        height={320}
      />
      <div class="return-qr-facts">
        <Facts
          rows={[
            [t('returnTotal'), <strong key="a">{formatFen(created.amount)}</strong>, 'return-qr-amount'],
            [t('itemsCol'), returnItemsText(created)],
            [t('expiresAtCol'), formatDateTime(created.expiresAt, timeZone, lang), 'return-qr-expires'],
            [
              t('statusCol'),
              <span key="s" data-testid="return-qr-status" data-status={status}>
                <StatusBadge prefix="return" value={status} />
              </span>,
            ],
          ]}
        />
        <p>{t('returnQrScan')}</p>
        <label>
          {t('returnLink')}
          <input
            id="return-qr-url"
            class="secret"
            data-testid="return-qr-url"
            readOnly
            value={created.url}
            onFocus={(e) => e.currentTarget.select()}
          />
        </label>
        {copied === true ? <p class="muted">{t('linkCopied')}</p> : null}
        {copied === false ? <p class="muted">{t('linkCopyByHand')}</p> : null}
        <div class="actions modal-actions">
          <Button onClick={() => void copy()} data-testid="return-qr-copy">
            {t('copyLink')}
          </Button>
          <Button variant="primary" data-testid="dialog-done" onClick={onClose}>
            {t('close')}
          </Button>
        </div>
      </div>
    </div>
  );
}
