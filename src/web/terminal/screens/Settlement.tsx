import { useRef, useState } from 'preact/hooks';
import { type Bucket, newIdempotencyKey, type Settlement } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { useApp } from '../app-context';
import { Button, ErrorBox, Notice, useEscape } from '../components/ui';
import { type MessageKey, useI18n } from '../i18n';

/** 批结算: POST /v1/settlements for this terminal; totals, then the reconciliation with the network. */
export function SettlementScreen() {
  const { api, session, go } = useApp();
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<Settlement | null>(null);
  const key = useRef(newIdempotencyKey());
  useEscape(() => go({ name: 'home' }));

  const settle = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(
        await api.post<Settlement>('/v1/settlements', { terminalId: session.terminalId }, key.current),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const bucketName = (b: string): string => {
    const k = `bucket.${b}`;
    return ['bucket.sales', 'bucket.voids', 'bucket.refunds', 'bucket.cash'].includes(k)
      ? t(k as MessageKey)
      : b;
  };

  if (!result) {
    return (
      <div class="flow narrow">
        <h2>{t('stlTitle')}</h2>
        <p>{t('stlExplain')}</p>
        <p>
          {t('terminal')} <strong>{session.terminalId}</strong>
        </p>
        <ErrorBox error={error} />
        <div class="actions">
          <Button onClick={() => go({ name: 'home' })}>{t('back')}</Button>
          <Button variant="primary" class="huge" busy={busy} data-testid="settle" onClick={settle}>
            {t('stlDo')}
          </Button>
        </div>
      </div>
    );
  }

  const rows: [string, Bucket | undefined][] = [
    ['sales', result.totals.sales],
    ['voids', result.totals.voids],
    ['refunds', result.totals.refunds],
    ['cash', result.totals.cash],
  ];
  const r = result.reconciliation;
  return (
    <div class="flow" data-testid="settlement-result">
      <h2>
        {t('stlTitle')} · {t('batchNo')} {result.batchNo}
      </h2>
      <div class="two-col">
        <table class="totals">
          <thead>
            <tr>
              <th />
              <th>{t('count')}</th>
              <th>{t('total')}</th>
            </tr>
          </thead>
          <tbody>
            {rows
              .filter((row): row is [string, Bucket] => row[1] !== undefined)
              .map(([b, v]) => (
                <tr key={b} data-bucket={b}>
                  <th>{bucketName(b)}</th>
                  <td>{v.count}</td>
                  <td>{formatFen(v.amount)}</td>
                </tr>
              ))}
          </tbody>
        </table>
        <div>
          <div class={`recon ${r.balanced ? 'recon-ok' : 'recon-bad'}`} data-testid="reconciliation">
            <span class="result-icon" aria-hidden="true">
              {r.balanced ? '✓' : '!'}
            </span>
            <strong>{r.balanced ? t('balanced') : t('unbalanced')}</strong>
          </div>
          <Notice kind={r.balanced ? 'info' : 'warn'}>
            {r.balanced ? t('balancedHint') : t('unbalancedHint')}
          </Notice>
          {r.differences.length > 0 ? (
            <table class="totals">
              <thead>
                <tr>
                  <th />
                  <th>{t('local')}</th>
                  <th>{t('network')}</th>
                </tr>
              </thead>
              <tbody>
                {r.differences.map((d) => (
                  <tr key={d.bucket}>
                    <th>{bucketName(d.bucket)}</th>
                    <td>
                      {d.local.count} · {formatFen(d.local.amount)}
                    </td>
                    <td>
                      {d.network.count} · {formatFen(d.network.amount)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      </div>
      <div class="actions">
        <Button variant="primary" onClick={() => go({ name: 'home' })}>
          {t('home')}
        </Button>
      </div>
    </div>
  );
}
