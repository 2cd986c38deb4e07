import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { ApiError, type Page, type Payment, q, type Refund } from '../../shared/api';
import { formatFen, parseYuan } from '../../shared/money';
import { useApp } from '../app-context';
import { useI18n } from '../i18n';
import { Button, ErrorBox, Notice, useAutofocus } from './ui';

const ORDER_NO = /^[A-Za-z0-9_-]{1,64}$/;
/** How many recent payments are searched for a network reference / voucher number. */
const REFERENCE_SCAN_LIMIT = 100;

export function paymentLine(p: Payment, t: ReturnType<typeof useI18n>['t']): string {
  return `${t(`method.${p.method}`)}${p.card ? ` ****${p.card.last4}` : ''}`;
}

export function shortTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => n.toString().padStart(2, '0');
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function todayInput(): string {
  const d = new Date();
  const pad = (n: number) => n.toString().padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local calendar day → [from, to) in ISO time, for `GET /v1/payments?from=&to=`. */
function dayRange(day: string): { from: string; to: string } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const start = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const end = new Date(start);
  end.setDate(end.getDate() + 1);
  return { from: start.toISOString(), to: end.toISOString() };
}

export function PaymentRow({
  p,
  onPick,
  showRefundable,
}: {
  p: Payment;
  onPick: (p: Payment) => void;
  showRefundable?: boolean;
}) {
  const { t } = useI18n();
  return (
    <button type="button" class="row-button" data-order={p.orderNo} onClick={() => onPick(p)}>
      <span class="row-main">
        <strong>{p.orderNo}</strong>
        <span class="muted">
          {shortTime(p.createdAt)} · {paymentLine(p, t)}
        </span>
      </span>
      <span class="row-side">
        <span class="amount">{formatFen(p.amount)}</span>
        <span class={`badge badge-${p.status}`}>
          {t(`pay.${p.status}`)}
          {p.settled ? ` · ${t('settled')}` : ''}
        </span>
        {showRefundable && p.status !== 'voided' ? (
          <span class="muted">
            {t('refundable')} {formatFen(p.refundableAmount)}
          </span>
        ) : null}
      </span>
    </button>
  );
}

/**
 * Find the original payment: a barcode scanner types the order number and Enter into the focused
 * field; the same field takes a payment id, a refund (voucher) number or the network reference
 * printed on the receipt. Or search by day, amount and card last four, or tap a recent payment.
 */
export function FindPayment({
  onPick,
  showRefundable,
}: {
  onPick: (p: Payment) => void;
  showRefundable?: boolean;
}) {
  const { api } = useApp();
  const { t } = useI18n();
  const [text, setText] = useState('');
  const [list, setList] = useState<Payment[] | null>(null);
  const [searched, setSearched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [advanced, setAdvanced] = useState(false);
  const [day, setDay] = useState(todayInput());
  const [amount, setAmount] = useState('');
  const [last4, setLast4] = useState('');
  const [amountError, setAmountError] = useState(false);
  const input = useAutofocus<HTMLInputElement>();

  // A scan that starts while nothing has the focus still lands in the search field: the first key
  // is typed into it here and moves the focus there, so the keys after it follow by themselves.
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const idle = !document.activeElement || document.activeElement === document.body;
      if (!idle || e.key.length !== 1 || e.ctrlKey || e.metaKey || e.altKey || !input.current) return;
      e.preventDefault();
      setText((v) => v + e.key);
      input.current.focus();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [input]);

  useEffect(() => {
    api
      .get<Page<Payment>>('/v1/payments?limit=8')
      .then((page) => setList((current) => current ?? page.data))
      .catch(() => setList([]));
  }, [api]);

  const run = async (work: () => Promise<Payment[]>) => {
    setBusy(true);
    setError(null);
    try {
      const found = await work();
      if (found.length === 1 && found[0]) {
        onPick(found[0]);
        return;
      }
      setList(found);
      setSearched(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const lookup = async (raw: string): Promise<Payment[]> => {
    const s = raw.trim();
    if (s.startsWith('pay_')) return [await api.get<Payment>(`/v1/payments/${encodeURIComponent(s)}`)];
    if (s.startsWith('re_')) {
      const refund = await api.get<Refund>(`/v1/refunds/${encodeURIComponent(s)}`);
      return [await api.get<Payment>(`/v1/payments/${refund.paymentId}`)];
    }
    if (ORDER_NO.test(s)) {
      const byOrder = await api.get<Page<Payment>>(`/v1/payments${q({ orderNo: s, limit: 20 })}`);
      if (byOrder.data.length > 0) {
        // An adjusted order also has its linked charges: the sale comes first.
        const sales = byOrder.data.filter((p) => p.kind !== 'charge');
        return sales.length === 1 ? sales : byOrder.data;
      }
    }
    const recent = await api.get<Page<Payment>>(`/v1/payments?limit=${REFERENCE_SCAN_LIMIT}`);
    const byRef = recent.data.filter((p) => p.network?.reference === s);
    if (byRef.length > 0) return byRef;
    throw new ApiError({ status: 404, code: 'not_found' });
  };

  const onSearch = (e: Event) => {
    e.preventDefault();
    if (!text.trim() || busy) return;
    void run(() => lookup(text));
  };

  const onAdvanced = (e: Event) => {
    e.preventDefault();
    let fen: number | undefined;
    if (amount.trim()) {
      const parsed = parseYuan(amount);
      if (!parsed.ok) {
        setAmountError(true);
        return;
      }
      fen = parsed.fen;
    }
    setAmountError(false);
    const range = dayRange(day);
    void run(async () => {
      const page = await api.get<Page<Payment>>(
        `/v1/payments${q({ ...(range ?? {}), amount: fen, last4: last4 || undefined, limit: 50 })}`,
      );
      return page.data;
    });
  };

  return (
    <div class="find">
      <form class="search-bar" onSubmit={onSearch}>
        <label class="search-label">
          <span>{t('scanHint')}</span>
          <span class="search-row">
            <input
              ref={input}
              name="search"
              data-testid="search"
              autoComplete="off"
              placeholder={t('orderOrVoucher')}
              value={text}
              onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
            />
            <Button type="submit" variant="primary" busy={busy}>
              {t('search')}
            </Button>
          </span>
        </label>
      </form>
      <ErrorBox error={error} />
      <Button variant="ghost" aria-expanded={advanced} onClick={() => setAdvanced(!advanced)}>
        {t('advancedSearch')}
      </Button>
      {advanced ? (
        <form class="advanced" onSubmit={onAdvanced}>
          <label>
            <span>{t('date')}</span>
            <input
              type="date"
              name="day"
              value={day}
              onInput={(e) => setDay((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <label>
            <span>{t('amount')}</span>
            <input
              name="amount"
              inputMode="decimal"
              autoComplete="off"
              value={amount}
              onInput={(e) => setAmount((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <label>
            <span>{t('last4')}</span>
            <input
              name="last4"
              inputMode="numeric"
              maxLength={4}
              pattern="[0-9]{4}"
              autoComplete="off"
              value={last4}
              onInput={(e) => setLast4((e.currentTarget as HTMLInputElement).value.replace(/\D/g, ''))}
            />
          </label>
          <Button type="submit" variant="primary" busy={busy}>
            {t('search')}
          </Button>
          {amountError ? <Notice kind="warn">{t('amount.format')}</Notice> : null}
        </form>
      ) : null}
      <h3>{searched ? t('results') : t('recentPayments')}</h3>
      {list === null ? (
        <p class="muted">{t('loading')}</p>
      ) : list.length === 0 ? (
        <p class="muted">{t('noResults')}</p>
      ) : (
        <div class="rows" data-testid="payment-list">
          {list.map((p) => (
            <PaymentRow key={p.id} p={p} onPick={onPick} showRefundable={showRefundable} />
          ))}
        </div>
      )}
    </div>
  );
}
