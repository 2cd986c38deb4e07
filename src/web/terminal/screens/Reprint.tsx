import { useEffect, useState } from 'preact/hooks';
import type { Page, Refund } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { useApp } from '../app-context';
import { shortTime } from '../components/FindPayment';
import { ReceiptDialog } from '../components/Receipt';
import { Button, ErrorBox, useAutofocus, useEscape } from '../components/ui';
import { useI18n } from '../i18n';

/** 重打印: the last refund or one by its number; the API marks the voucher 重打印 / REPRINT. */
export function ReprintScreen({ refundId }: { refundId?: string | undefined }) {
  const { api, go } = useApp();
  const { t } = useI18n();
  const [recent, setRecent] = useState<Refund[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [printing, setPrinting] = useState<string | null>(refundId ?? null);
  const input = useAutofocus<HTMLInputElement>();
  useEscape(printing ? null : () => go({ name: 'home' }));

  useEffect(() => {
    api
      .get<Page<Refund>>('/v1/refunds?limit=8')
      .then((p) => setRecent(p.data))
      .catch((err) => {
        setRecent([]);
        setError(err);
      });
  }, [api]);

  const last = recent?.find((r) => r.status === 'succeeded') ?? recent?.[0];

  return (
    <div class="flow">
      <h2>{t('reprintTitle')}</h2>
      <div class="two-col">
        <div>
          <Button
            variant="primary"
            class="huge"
            data-testid="reprint-last"
            disabled={!last}
            onClick={() => last && setPrinting(last.id)}
          >
            {t('lastRefund')}
            {last ? ` · ${last.orderNo} · ${formatFen(last.amount)}` : ''}
          </Button>
          <form
            class="search-bar"
            onSubmit={(e) => {
              e.preventDefault();
              if (text.trim()) setPrinting(text.trim());
            }}
          >
            <label class="search-label">
              <span>{t('byRefundNo')}</span>
              <span class="search-row">
                <input
                  ref={input}
                  name="refundId"
                  autoComplete="off"
                  placeholder="re_…"
                  value={text}
                  onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
                />
                <Button type="submit" variant="primary">
                  {t('print')}
                </Button>
              </span>
            </label>
          </form>
        </div>
        <div>
          <h3>{t('recentRefunds')}</h3>
          <ErrorBox error={error} />
          {recent && recent.length === 0 ? <p class="muted">{t('noRecentRefunds')}</p> : null}
          <div class="rows">
            {(recent ?? []).map((r) => (
              <button key={r.id} type="button" class="row-button" onClick={() => setPrinting(r.id)}>
                <span class="row-main">
                  <strong>{r.orderNo}</strong>
                  <span class="muted">{shortTime(r.createdAt)}</span>
                </span>
                <span class="row-side">
                  <span class="amount">{formatFen(r.amount)}</span>
                  <span class={`badge badge-${r.status}`}>{t(`status.${r.status}`)}</span>
                </span>
              </button>
            ))}
          </div>
        </div>
      </div>
      {printing ? <ReceiptDialog refundId={printing} onClose={() => setPrinting(null)} /> : null}
    </div>
  );
}
