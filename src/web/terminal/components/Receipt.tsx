import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api';
import { prefs, useApp } from '../app-context';
import { useI18n } from '../i18n';
import { Button, ErrorBox, useEscape } from './ui';

type Width = '58' | '80';

/**
 * The refund voucher as the API renders it (`GET /v1/refunds/:id/receipt?format=html&width=`),
 * shown as it will print and handed to the browser's print dialog (the receipt printer's driver).
 * Every fetch after the first is a reprint: the API marks it 重打印 / REPRINT, so this fetches
 * once per print and never just to preview.
 */
export function ReceiptDialog({ refundId, onClose }: { refundId: string; onClose: () => void }) {
  const { api } = useApp();
  const { t, lang } = useI18n();
  // The voucher's language is the terminal's when it was asked for; switching later is no reprint.
  const voucherLang = useRef(lang).current;
  const [width, setWidth] = useState<Width>(prefs.get('paperWidth') === '58' ? '58' : '80');
  const [html, setHtml] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  const frame = useRef<HTMLIFrameElement>(null);
  useEscape(onClose);

  useEffect(() => {
    let live = true;
    setHtml(null);
    setError(null);
    api
      .text(
        `/v1/refunds/${encodeURIComponent(refundId)}/receipt?format=html&width=${width}&lang=${voucherLang}`,
        'text/html',
      )
      .then((body) => live && setHtml(body))
      .catch((err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [api, refundId, width, round, voucherLang]);

  const printFrame = () => {
    try {
      frame.current?.contentWindow?.print();
    } catch {
      // printing is not available here (e.g. a kiosk without a printer): the voucher stays on screen
    }
  };

  const choose = (w: Width) => {
    prefs.set('paperWidth', w);
    setWidth(w);
  };

  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-label={t('receiptTitle')}>
        <div class="dialog-head">
          <h2>{t('receiptTitle')}</h2>
          <fieldset class="segmented" aria-label={t('paperWidth')}>
            {(['58', '80'] as const).map((w) => (
              <button
                key={w}
                type="button"
                class={w === width ? 'seg on' : 'seg'}
                aria-pressed={w === width}
                onClick={() => choose(w)}
              >
                {w} mm
              </button>
            ))}
          </fieldset>
        </div>
        {error ? (
          <ErrorBox error={error}>
            <p>{t('receiptUnavailable')}</p>
          </ErrorBox>
        ) : html === null ? (
          <p class="muted">{t('loading')}</p>
        ) : (
          <iframe
            ref={frame}
            class={`receipt-frame w${width}`}
            title={t('receiptTitle')}
            data-testid="receipt"
            // No scripts in the voucher, whatever a note says; same origin so print() can be called.
            sandbox="allow-same-origin allow-modals"
            srcdoc={html}
            onLoad={printFrame}
          />
        )}
        <div class="dialog-actions">
          <Button variant="secondary" onClick={() => setRound(round + 1)} disabled={html === null}>
            {t('printAgain')}
          </Button>
          <Button variant="primary" onClick={onClose}>
            {t('close')}
          </Button>
        </div>
      </div>
    </div>
  );
}

/**
 * A send endpoint for vouchers, if this API has one (`POST /v1/refunds/{id}/…send…` in the OpenAPI
 * document). Without one the terminal offers no 发送 button: the consumer's phone / e-mail is
 * given with the refund instead, and nothing pretends to have been sent.
 */
export interface SendEndpoint {
  path: string;
  fields: string[];
}

let sendEndpoint: Promise<SendEndpoint | null> | null = null;

export function findSendEndpoint(): Promise<SendEndpoint | null> {
  sendEndpoint ??= request<{ paths?: Record<string, Record<string, unknown>> }>('GET', '/openapi.json')
    .then((doc) => {
      for (const [path, ops] of Object.entries(doc.paths ?? {})) {
        if (!/^\/v1\/refunds\/\{id\}\/(receipt\/)?(send|deliver|notify)/.test(path)) continue;
        const post = ops.post as
          | { requestBody?: { content?: Record<string, { schema?: { properties?: object } }> } }
          | undefined;
        if (!post) continue;
        const props = post.requestBody?.content?.['application/json']?.schema?.properties ?? {};
        return { path, fields: Object.keys(props) };
      }
      return null;
    })
    .catch(() => null);
  return sendEndpoint;
}

export function SendForm({ refundId, endpoint }: { refundId: string; endpoint: SendEndpoint }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const value = to.trim();
    if (!value) return;
    const isEmail = value.includes('@');
    const body: Record<string, string> = {};
    const f = endpoint.fields;
    if (f.includes('phone') || f.includes('email')) body[isEmail ? 'email' : 'phone'] = value;
    else body.to = value;
    if (f.includes('channel')) body.channel = isEmail ? 'email' : 'sms';
    setBusy(true);
    setError(null);
    try {
      await api.post(endpoint.path.replace('{id}', encodeURIComponent(refundId)), body);
      setSent(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (sent) return <p class="ok-text">{t('sent')}</p>;
  return (
    <form class="send-form" onSubmit={submit}>
      <input
        name="sendTo"
        autoComplete="off"
        placeholder={`${t('phone')} / ${t('email')}`}
        value={to}
        onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)}
      />
      <Button type="submit" variant="secondary" busy={busy}>
        {t('send')}
      </Button>
      <ErrorBox error={error} />
    </form>
  );
}
