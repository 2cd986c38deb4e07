import { useEffect, useRef, useState } from 'preact/hooks';
import { newIdempotencyKey } from '../../shared/api';
import { isEmail, isPhone } from '../../shared/contact';
import { prefs, useApp } from '../app-context';
import { useI18n } from '../i18n';
import { Button, ErrorBox, Keypad, PadField, typeDigitKey, useEscape } from './ui';

export type PaperWidth = '58' | '80';

/** The receipt printer's roll, remembered on this terminal: 80 mm unless 58 mm was chosen. */
export function usePaperWidth(): [PaperWidth, (w: PaperWidth) => void] {
  const [width, setWidth] = useState<PaperWidth>(prefs.get('paperWidth') === '58' ? '58' : '80');
  const choose = (w: PaperWidth) => {
    prefs.set('paperWidth', w);
    setWidth(w);
  };
  return [width, choose];
}

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
  const [width, setWidth] = usePaperWidth();
  const [html, setHtml] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);

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

  return (
    <PrintDialog
      title={t('receiptTitle')}
      width={width}
      onWidth={setWidth}
      html={html}
      error={error}
      unavailable={t('receiptUnavailable')}
      onAgain={() => setRound(round + 1)}
      onClose={onClose}
    />
  );
}

/**
 * A printable page shown as it will print, in a frame that prints itself once loaded: the
 * terminal's one way to print (the receipt printer is the browser's printer). `frameKey` changes
 * to print the same page again.
 */
export function PrintDialog({
  title,
  width,
  onWidth,
  html,
  error,
  unavailable,
  onAgain,
  onClose,
  frameKey,
  testId = 'receipt',
}: {
  title: string;
  width: PaperWidth;
  onWidth: (w: PaperWidth) => void;
  html: string | null;
  error: unknown;
  unavailable: string;
  onAgain: () => void;
  onClose: () => void;
  frameKey?: number;
  testId?: string;
}) {
  const { t } = useI18n();
  const frame = useRef<HTMLIFrameElement>(null);
  useEscape(onClose);

  const printFrame = () => {
    try {
      frame.current?.contentWindow?.print();
    } catch {
      // printing is not available here (e.g. a kiosk without a printer): the page stays on screen
    }
  };

  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-label={title}>
        <div class="dialog-head">
          <h2>{title}</h2>
          <fieldset class="segmented" aria-label={t('paperWidth')}>
            {(['58', '80'] as const).map((w) => (
              <button
                key={w}
                type="button"
                class={w === width ? 'seg on' : 'seg'}
                aria-pressed={w === width}
                onClick={() => onWidth(w)}
              >
                {w} mm
              </button>
            ))}
          </fieldset>
        </div>
        {error ? (
          <ErrorBox error={error}>
            <p>{unavailable}</p>
          </ErrorBox>
        ) : html === null ? (
          <p class="muted">{t('loading')}</p>
        ) : (
          <iframe
            key={frameKey}
            ref={frame}
            class={`receipt-frame w${width}`}
            title={title}
            data-testid={testId}
            // No scripts in the page, whatever a note says; same origin so print() can be called.
            sandbox="allow-same-origin allow-modals"
            srcdoc={html}
            onLoad={printFrame}
          />
        )}
        <div class="dialog-actions">
          <Button variant="secondary" onClick={onAgain} disabled={html === null}>
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

interface SendView {
  id: string;
  channel: 'email' | 'sms';
  destination: string;
  status: 'queued' | 'sent' | 'failed';
}

const SEND_POLL_MS = 700;

/**
 * 发送凭证: the voucher to the consumer's phone (typed on the keypad) or e-mail, through
 * `POST /v1/refunds/:id/receipt/send` (one Idempotency-Key per form), then the sends list polled
 * until each is sent. Destinations come back masked; the typed one is forgotten once queued.
 */
export function SendVoucher({ refundId, onClose }: { refundId: string; onClose: () => void }) {
  const { api } = useApp();
  const { t, lang } = useI18n();
  const [mode, setMode] = useState<'phone' | 'email'>('phone');
  const [phone, setPhone] = useState('');
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [sends, setSends] = useState<SendView[] | null>(null);
  const key = useRef(newIdempotencyKey()).current;
  const value = mode === 'phone' ? phone : email.trim();
  const valid = mode === 'phone' ? isPhone(value) : isEmail(value);

  useEffect(() => {
    if (!sends || sends.every((s) => s.status !== 'queued')) return;
    const ids = new Set(sends.map((s) => s.id));
    const timer = setTimeout(async () => {
      try {
        const all = await api.get<{ data: SendView[] }>(
          `/v1/refunds/${encodeURIComponent(refundId)}/receipt/sends`,
        );
        setSends(all.data.filter((s) => ids.has(s.id)));
      } catch (err) {
        setError(err);
        setSends([...sends]);
      }
    }, SEND_POLL_MS);
    return () => clearTimeout(timer);
  }, [api, refundId, sends]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!valid || busy) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api.post<{ data: SendView[] }>(
        `/v1/refunds/${encodeURIComponent(refundId)}/receipt/send`,
        { [mode]: value, lang },
        key,
      );
      setPhone('');
      setEmail('');
      setSends(res.data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (sends) {
    return (
      <div class="send-form" data-testid="send-status">
        {sends.map((s) => (
          <p key={s.id} class={s.status === 'sent' ? 'ok-text' : 'muted'} data-status={s.status}>
            {s.destination} · {t(`sendStatus.${s.status}`)}
          </p>
        ))}
        <ErrorBox error={error} />
        <Button variant="secondary" onClick={onClose}>
          {t('close')}
        </Button>
      </div>
    );
  }
  return (
    <form class="send-form" onSubmit={submit} data-testid="send-form">
      <div class="seg">
        <Button variant={mode === 'phone' ? 'primary' : 'secondary'} onClick={() => setMode('phone')}>
          {t('phone')}
        </Button>
        <Button variant={mode === 'email' ? 'primary' : 'secondary'} onClick={() => setMode('email')}>
          {t('email')}
        </Button>
      </div>
      {mode === 'phone' ? (
        <>
          <PadField name="sendPhone" label={t('phone')} value={phone} onValue={setPhone} active autoFocus />
          <Keypad busy={busy} okLabel={t('send')} onKey={(k) => setPhone((v) => typeDigitKey(v, k, 20))} />
        </>
      ) : (
        <>
          <label class="pad-label" for="field-sendEmail">
            {t('email')}
          </label>
          <input
            id="field-sendEmail"
            name="sendEmail"
            type="email"
            autoComplete="off"
            value={email}
            onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)}
          />
          <Button type="submit" variant="primary" busy={busy} disabled={!valid}>
            {t('send')}
          </Button>
        </>
      )}
      <ErrorBox error={error} />
      <Button variant="secondary" onClick={onClose}>
        {t('cancel')}
      </Button>
    </form>
  );
}
