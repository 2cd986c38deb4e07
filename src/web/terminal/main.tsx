import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { type Api, apiFor, type Caller, type Lang, type Policy, request, type Session } from '../shared/api';
import { DEFAULT_TIME_ZONE } from '../shared/time';
import { AppContext, type AppCtx, type MerchantInfo, type NetworkState, type Route } from './app-context';
import { I18nContext, initialLang, langNames, langs, type MessageKey, saveLang, translate } from './i18n';
import { AdjustScreen } from './screens/Adjust';
import { HomeScreen } from './screens/Home';
import { OperatorsScreen } from './screens/Operators';
import { RefundScreen } from './screens/Refund';
import { ReprintScreen } from './screens/Reprint';
import { ReturnsScreen } from './screens/Returns';
import { SaleScreen } from './screens/Sale';
import { SettlementScreen } from './screens/Settlement';
import { SignInScreen } from './screens/SignIn';
import { TransactionsScreen } from './screens/Transactions';
import { VoidScreen } from './screens/Void';
import './styles.css';

/** The network link indicator polls the echo test this often (PRODUCT.md §3 step 1). */
const HEALTH_POLL_MS = 10_000;
const SESSION_KEY = 'rd.terminal.session';

function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function storeSession(s: Session | null): void {
  try {
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // the session then lasts until reload
  }
}

function useNetwork(): NetworkState {
  const [state, setState] = useState<NetworkState>('unknown');
  useEffect(() => {
    let live = true;
    const check = () =>
      request<{ network?: string }>('GET', '/v1/health')
        .then((h) => live && setState(h.network === 'up' ? 'up' : 'down'))
        .catch(() => live && setState('down'));
    void check();
    const timer = setInterval(check, HEALTH_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return state;
}

const UNKNOWN_MERCHANT: MerchantInfo = { name: '', timeZone: DEFAULT_TIME_ZONE };

/** Who the session's merchant is (`GET /v1/sessions/current`), read once per session. */
function useMerchant(api: Api | null): MerchantInfo {
  const [merchant, setMerchant] = useState<MerchantInfo>(UNKNOWN_MERCHANT);
  useEffect(() => {
    if (!api) return;
    let live = true;
    api
      .get<Caller>('/v1/sessions/current')
      .then((c) => live && setMerchant({ name: c.merchant.name, timeZone: c.merchant.timeZone }))
      // An older server without it: times in the product's calendar zone, the slip without a name.
      .catch(() => live && setMerchant(UNKNOWN_MERCHANT));
    return () => {
      live = false;
    };
  }, [api]);
  return merchant;
}

const titles: Record<Route['name'], MessageKey> = {
  home: 'homeTitle',
  sale: 'saleTitle',
  refund: 'refundTitle',
  void: 'voidTitle',
  adjust: 'adjustTitle',
  transactions: 'txTitle',
  settlement: 'stlTitle',
  reprint: 'reprintTitle',
  operators: 'opsTitle',
  returns: 'returnsTitle',
};

function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [session, setSession] = useState<Session | null>(loadSession);
  const [route, setRoute] = useState<Route>({ name: 'home' });
  // Each visit to a screen starts it fresh, even from the same screen ("another refund").
  const [visit, setVisit] = useState(0);
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [notice, setNotice] = useState<MessageKey | null>(null);
  const network = useNetwork();

  const i18n = useMemo(
    () => ({
      lang,
      t: (key: MessageKey, vars?: Record<string, string | number>) => translate(lang, key, vars),
      setLang: (l: Lang) => {
        saveLang(l);
        setLangState(l);
      },
    }),
    [lang],
  );
  const { t } = i18n;

  // After a screen changes, the focus is on nothing: the first Tab goes into the screen, not the top bar.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Tab' || (document.activeElement && document.activeElement !== document.body)) return;
      const first = document.querySelector<HTMLElement>(
        'main button:not([disabled]):not([tabindex="-1"]), main input, main [tabindex="0"]',
      );
      if (first) {
        e.preventDefault();
        first.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = translate(lang, 'appName');
  }, [lang]);

  const endSession = useCallback((why: MessageKey | null) => {
    storeSession(null);
    setSession(null);
    setPolicy(null);
    setRoute({ name: 'home' });
    setNotice(why);
  }, []);

  const api = useMemo(
    () => (session ? apiFor(session.token, () => endSession('sessionExpired')) : null),
    [session, endSession],
  );
  const merchant = useMerchant(api);

  // The policy is read again on every screen change: a change made in the back office applies
  // at the next screen, without signing out (refund caps, methods, reasons in use).
  useEffect(() => {
    if (!api) return;
    let live = true;
    api
      .get<Policy>('/v1/policy')
      .then((p) => live && setPolicy(p))
      .catch(() => live && setPolicy(null));
    return () => {
      live = false;
    };
  }, [api, visit]);

  const ctx: AppCtx | null = useMemo(
    () =>
      session && api
        ? {
            api,
            session,
            policy,
            merchant,
            network,
            go: (r: Route) => {
              setRoute(r);
              setVisit((v) => v + 1);
            },
            signOut: () => {
              void api.del('/v1/sessions/current').catch(() => {});
              endSession(null);
            },
          }
        : null,
    [session, api, policy, merchant, network, endSession],
  );

  return (
    <I18nContext.Provider value={i18n}>
      <div class="app">
        <header class="topbar">
          <div class="brand">
            {route.name !== 'home' && ctx ? (
              <button
                type="button"
                class="btn btn-ghost back"
                data-testid="back"
                onClick={() => ctx.go({ name: 'home' })}
              >
                ‹ {t('home')}
              </button>
            ) : (
              <span class="app-name">{t('appName')}</span>
            )}
            <h1>{ctx ? t(titles[route.name]) : t('signInTitle')}</h1>
          </div>
          <div class={`link link-${network}`} data-testid="network" role="status">
            <span class="dot" aria-hidden="true" />
            {network === 'up' ? t('networkUp') : network === 'down' ? t('networkDown') : '…'}
          </div>
          {session ? (
            <div class="who">
              {t('terminal')} {session.terminalId} · {t('operator')} {session.operator.no}
            </div>
          ) : null}
          <fieldset class="segmented lang" aria-label={t('language')}>
            {langs.map((l) => (
              <button
                key={l}
                type="button"
                lang={l}
                class={l === lang ? 'seg on' : 'seg'}
                aria-pressed={l === lang}
                data-lang={l}
                onClick={() => i18n.setLang(l)}
              >
                {langNames[l]}
              </button>
            ))}
          </fieldset>
        </header>
        <main class="content" key={`${route.name}-${visit}`}>
          {!ctx ? (
            <SignInScreen
              notice={notice ? t(notice) : null}
              onSignedIn={(s) => {
                storeSession(s);
                setNotice(null);
                setSession(s);
                setRoute({ name: 'home' });
              }}
            />
          ) : (
            <AppContext.Provider value={ctx}>
              <Screen route={route} />
            </AppContext.Provider>
          )}
        </main>
      </div>
    </I18nContext.Provider>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case 'home':
      return <HomeScreen />;
    case 'sale':
      return <SaleScreen />;
    case 'refund':
      return <RefundScreen preset={route.payment} />;
    case 'void':
      return <VoidScreen />;
    case 'adjust':
      return <AdjustScreen />;
    case 'transactions':
      return <TransactionsScreen />;
    case 'settlement':
      return <SettlementScreen />;
    case 'reprint':
      return <ReprintScreen refundId={route.refundId} />;
    case 'operators':
      return <OperatorsScreen />;
    case 'returns':
      return <ReturnsScreen />;
  }
}

const root = document.getElementById('app');
if (root) render(<App />, root);
