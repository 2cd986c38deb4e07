import { useState } from 'preact/hooks';
import { ApiError, request, type Session } from '../../shared/api';
import { ErrorBox, Notice, useAutofocus } from '../../shared/components';
import { langNames, langs, type MessageKey, useI18n } from '../i18n';

const MERCHANT_KEY = 'rd.office.merchant';

function rememberedMerchant(): string {
  const fromUrl = new URLSearchParams(location.search).get('merchant');
  if (fromUrl) return fromUrl;
  try {
    return localStorage.getItem(MERCHANT_KEY) ?? '';
  } catch {
    return '';
  }
}

/**
 * Back-office sign-in: merchant ID (remembered on this computer), operator number, password.
 * Only supervisors and admins get in; a cashier's right password is answered `office_not_allowed`
 * and gets a page of its own saying where cashiers work instead.
 */
export function SignInPage({
  notice,
  onSignedIn,
  onRefused,
}: {
  notice: MessageKey | null;
  onSignedIn: (s: Session) => Promise<void>;
  onRefused: () => void;
}) {
  const { t, lang, setLang } = useI18n();
  const [merchantId, setMerchantId] = useState(rememberedMerchant);
  const [operatorNo, setOperatorNo] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const first = useAutofocus<HTMLInputElement>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await request<Session>('POST', '/v1/sessions', {
        body: { merchantId: merchantId.trim(), operatorNo: operatorNo.trim(), password },
      });
      try {
        localStorage.setItem(MERCHANT_KEY, merchantId.trim());
      } catch {
        // not remembered: typed again next time
      }
      setPassword('');
      await onSignedIn(s);
    } catch (err) {
      setPassword('');
      if (err instanceof ApiError && err.code === 'office_not_allowed') onRefused();
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="signin-page">
      <form class="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">{t('signInTitle')}</h1>
        <p class="muted">{t('signInHint')}</p>
        {notice ? <Notice kind="warn">{t(notice)}</Notice> : null}
        <label>
          {t('merchant')}
          <input
            ref={merchantId ? undefined : first}
            name="merchantId"
            value={merchantId}
            inputMode="numeric"
            autoComplete="organization"
            required
            maxLength={32}
            onInput={(e) => setMerchantId(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('operatorNo')}
          <input
            ref={merchantId ? first : undefined}
            name="operatorNo"
            value={operatorNo}
            autoComplete="username"
            required
            maxLength={16}
            onInput={(e) => setOperatorNo(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('password')}
          <input
            type="password"
            name="password"
            value={password}
            autoComplete="current-password"
            required
            maxLength={64}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorBox error={error} />
        <button type="submit" class="btn btn-primary" disabled={busy} data-testid="sign-in">
          {busy ? t('working') : t('signIn')}
        </button>
        <div class="signin-langs">
          {langs.map((l) => (
            <button
              key={l}
              type="button"
              class={l === lang ? 'link-btn on' : 'link-btn'}
              aria-pressed={l === lang}
              onClick={() => setLang(l)}
            >
              {langNames[l]}
            </button>
          ))}
        </div>
      </form>
    </div>
  );
}

/** What a cashier sees instead of the office: a clear refusal and the way to the terminal. */
export function CashierRefused({ onAgain }: { onAgain: () => void }) {
  const { t } = useI18n();
  return (
    <div class="signin-page">
      <section class="signin-card refused" role="alert" data-testid="cashier-refused">
        <h1>{t('cashierRefusedTitle')}</h1>
        <p>{t('cashierRefusedText')}</p>
        <a class="btn btn-primary" href="/terminal/">
          {t('goTerminal')}
        </a>
        <button type="button" class="btn btn-ghost" onClick={onAgain}>
          {t('signInAgain')}
        </button>
      </section>
    </div>
  );
}
