import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, newIdempotencyKey, type Payment, type ReturnCreated } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { useApp } from '../app-context';
import { useI18n } from '../i18n';
import { PaymentFacts } from '../screens/Refund';
import { Button, ErrorBox, Notice } from './ui';

interface Line {
  sku: string;
  name: string;
  unitAmount: number;
  bought: number;
  held: number;
  /** What may still go on a return: bought − refunded or being refunded − on other open QRs. */
  left: number;
}

/** The payment says per line what is refunded or being refunded, and what open QRs hold. */
function linesOf(payment: Payment): Line[] {
  return payment.items
    .filter((i) => i.qty > 0)
    .map((i) => ({
      sku: i.sku,
      name: i.name,
      unitAmount: i.unitAmount,
      bought: i.qty,
      held: i.heldQty,
      left: Math.max(0, i.qty - i.refundedQty - i.heldQty),
    }));
}

/**
 * The returned lines of a sale with a stepper each, never above what is left of the line, and the
 * refund they come to; then `POST /v1/returns` (one Idempotency-Key per choice: a retry of the same
 * choice reuses it). What is left is read again now, and again after the server refuses.
 */
export function ReturnItems({
  payment: picked,
  onCreated,
}: {
  payment: Payment;
  onCreated: (created: ReturnCreated) => void;
}) {
  const { api, go } = useApp();
  const { t } = useI18n();
  const [state, setState] = useState<{ payment: Payment } | null>(null);
  const [qty, setQty] = useState<Record<string, number>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  const key = useRef<string | null>(null);

  useEffect(() => {
    let live = true;
    api
      .get<Payment>(`/v1/payments/${encodeURIComponent(picked.id)}`)
      .then((payment) => live && setState({ payment }))
      .catch((err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [api, picked.id, round]);

  if (!state) return error ? <ErrorBox error={error} /> : <p class="muted">{t('loading')}</p>;
  const lines = linesOf(state.payment);
  const chosen = lines.filter((l) => (qty[l.sku] ?? 0) > 0);
  const total = chosen.reduce((s, l) => s + (qty[l.sku] ?? 0) * l.unitAmount, 0);

  const set = (line: Line, n: number) => {
    setError(null);
    key.current = null;
    setQty({ ...qty, [line.sku]: Math.max(0, Math.min(line.left, n)) });
  };

  const create = async (e: Event) => {
    e.preventDefault();
    if (chosen.length === 0 || busy) return;
    key.current ??= newIdempotencyKey();
    setBusy(true);
    setError(null);
    try {
      const created = await api.post<ReturnCreated>(
        '/v1/returns',
        { orderNo: state.payment.orderNo, items: chosen.map((l) => ({ sku: l.sku, qty: qty[l.sku] ?? 0 })) },
        key.current,
      );
      onCreated(created);
    } catch (err) {
      setError(err);
      // Someone else took items meanwhile (a counter refund, another QR): show what is left now.
      if (err instanceof ApiError && err.code === 'refund_exceeds_refundable') {
        setQty({});
        key.current = null;
        setRound(round + 1);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="amount-step return-items">
      <form class="items" onSubmit={create} data-testid="return-lines">
        <h2>{t('returnChoose')}</h2>
        {lines.length === 0 ? (
          <Notice kind="warn">
            {t('returnNoItems')}{' '}
            <Button onClick={() => go({ name: 'refund', payment: state.payment })}>{t('refund')}</Button>
          </Notice>
        ) : lines.every((l) => l.left === 0) ? (
          <Notice kind="warn">{t('returnNothingLeft')}</Notice>
        ) : null}
        {lines.map((l) => (
          <LineStepper key={l.sku} line={l} n={qty[l.sku] ?? 0} onSet={(n) => set(l, n)} />
        ))}
        <div class="items-total">
          {t('refundAmount')} <strong data-testid="return-total">{formatFen(total)}</strong>
        </div>
        <ErrorBox error={error} />
        <Button
          type="submit"
          variant="primary"
          class="huge"
          busy={busy}
          disabled={chosen.length === 0}
          data-testid="return-create"
        >
          {t('returnCreate')}
        </Button>
      </form>
      <PaymentFacts payment={state.payment} />
    </div>
  );
}

function LineStepper({ line, n, onSet }: { line: Line; n: number; onSet: (n: number) => void }) {
  const { t } = useI18n();
  return (
    <div class="item-row" data-sku={line.sku}>
      <span class="row-main">
        <strong>{line.name}</strong>
        <span class="muted">
          {line.sku} · {formatFen(line.unitAmount)} × {line.bought} ·{' '}
          <span data-testid={`left-${line.sku}`}>{t('itemsLeft', { n: line.left })}</span>
          {line.held > 0 ? ` · ${t('returnHeld', { n: line.held })}` : ''}
        </span>
      </span>
      <span class="stepper">
        <button
          type="button"
          class="step-btn"
          aria-label={`${t('decrease')} ${line.name}`}
          data-testid={`qty-dec-${line.sku}`}
          disabled={n <= 0}
          onClick={() => onSet(n - 1)}
        >
          −
        </button>
        <output class="qty" data-testid={`qty-${line.sku}`}>
          {n}
        </output>
        <button
          type="button"
          class="step-btn"
          aria-label={`${t('increase')} ${line.name}`}
          data-testid={`qty-inc-${line.sku}`}
          disabled={n >= line.left}
          onClick={() => onSet(n + 1)}
        >
          +
        </button>
      </span>
    </div>
  );
}
