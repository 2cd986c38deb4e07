import { useRef, useState } from 'preact/hooks';
import { newIdempotencyKey, type Payment, type PaymentMethod } from '../../shared/api';
import { formatFen, parseYuan, typeAmountKey } from '../../shared/money';
import { useApp } from '../app-context';
import { paymentLine } from '../components/FindPayment';
import { Button, ErrorBox, Facts, Keypad, Notice, PadField, useEscape } from '../components/ui';
import { useI18n } from '../i18n';

/** A Luhn-valid UnionPay-style test card for demo sales (no real card number is kept in code). */
function demoPan(): string {
  const body = '622202100005678';
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

function newOrderNo(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => n.toString().padStart(w, '0');
  const stamp = `${d.getFullYear() % 100}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return `POS${stamp}${pad(Math.floor(Math.random() * 100))}`;
}

/** 消费, for demos and testing: take a payment so there is something to refund. */
export function SaleScreen() {
  const { api, go } = useApp();
  const { t } = useI18n();
  const [text, setText] = useState('');
  const [method, setMethod] = useState<PaymentMethod>('card');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<Payment | null>(null);
  const attempt = useRef<{ key: string; orderNo: string; amount: number; method: PaymentMethod } | null>(
    null,
  );
  const pan = demoPan();
  useEscape(() => go({ name: 'home' }));

  const submit = async (e: Event) => {
    e.preventDefault();
    const parsed = parseYuan(text);
    if (!parsed.ok) {
      setProblem(t(`amount.${parsed.error}`));
      return;
    }
    // The same amount and method again after a failure is a retry of the same sale (same key).
    const a = attempt.current;
    if (!a || a.amount !== parsed.fen || a.method !== method) {
      attempt.current = { key: newIdempotencyKey(), orderNo: newOrderNo(), amount: parsed.fen, method };
    }
    const current = attempt.current as NonNullable<typeof attempt.current>;
    setBusy(true);
    setError(null);
    try {
      const p = await api.post<Payment>(
        '/v1/payments',
        {
          orderNo: current.orderNo,
          amount: current.amount,
          currency: 'CNY',
          method,
          ...(method === 'card' ? { card: { pan, expiry: '2912' } } : {}),
        },
        current.key,
      );
      attempt.current = null;
      setDone(p);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <div class="result result-succeeded" data-testid="sale-result">
        <div class="result-head">
          <span class="result-icon" aria-hidden="true">
            ✓
          </span>
          <h2 data-testid="result-title">{t('saleDone')}</h2>
        </div>
        <Facts
          rows={[
            [t('orderNo'), <strong key="o">{done.orderNo}</strong>, 'sale-order'],
            [t('amount'), formatFen(done.amount)],
            [t('method'), paymentLine(done, t)],
          ]}
        />
        <div class="actions">
          <Button
            onClick={() => {
              setDone(null);
              setText('');
            }}
          >
            {t('sale')}
          </Button>
          <Button onClick={() => go({ name: 'refund', payment: done })}>{t('refundThis')}</Button>
          <Button variant="primary" onClick={() => go({ name: 'home' })}>
            {t('home')}
          </Button>
        </div>
      </div>
    );
  }

  return (
    <div class="amount-step">
      <div class="amount-left">
        <h2>{t('saleTitle')}</h2>
        <p class="muted">{t('saleMethod')}</p>
        <fieldset class="segmented big" aria-label={t('saleMethod')}>
          {(['card', 'qr', 'cash'] as const).map((m) => (
            <button
              key={m}
              type="button"
              class={method === m ? 'seg on' : 'seg'}
              aria-pressed={method === m}
              data-method={m}
              onClick={() => setMethod(m)}
            >
              {t(`method.${m}`)}
            </button>
          ))}
        </fieldset>
        {method === 'card' ? <p class="muted">{t('demoCard', { card: `**** ${pan.slice(-4)}` })}</p> : null}
        <ErrorBox error={error} />
      </div>
      <form class="amount-pad" onSubmit={submit}>
        <PadField
          name="saleAmount"
          label={t('saleAmount')}
          prefix="¥"
          value={text}
          active
          autoFocus
          onValue={(v) => {
            setProblem(null);
            setText(v.replace(/[^0-9.]/g, ''));
          }}
        />
        {problem ? <Notice kind="warn">{problem}</Notice> : null}
        <Keypad
          decimals
          busy={busy}
          okLabel={t('charge')}
          onKey={(k) => {
            setProblem(null);
            setText((v) => typeAmountKey(v, k));
          }}
        />
      </form>
    </div>
  );
}
