import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { apiFor, type Lang, request, type Session } from '../shared/api';
import { LangSwitch } from '../shared/components';
import { DEFAULT_TIME_ZONE } from '../shared/time';
import {
  OfficeContext,
  type OfficeCtx,
  officePath,
  type PageName,
  parseRoute,
  type Route,
} from './app-context';
import { I18nContext, initialLang, type MessageKey, saveLang, translate, useI18n } from './i18n';
import { AuditPage } from './pages/Audit';
import { CollectPage } from './pages/Collect';
import { DashboardPage } from './pages/Dashboard';
import { OrderPage } from './pages/Order';
import { OrdersPage } from './pages/Orders';
import { PeoplePage } from './pages/People';
import { PolicyPage } from './pages/Policy';
import { QueuePage } from './pages/Queue';
import { ReturnsPage } from './pages/Returns';
import { SettlementPage } from './pages/Settlement';
import { CashierRefused, SignInPage } from './pages/SignIn';
import './styles.css';

const SESSION_KEY = 'rd.office.session';

/** The signed-in office session: the sign-in answer plus the merchant's time zone. */
export type OfficeSession = Session & { timeZone?: string };

function loadSession(): OfficeSession | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as OfficeSession) : null;
  } catch {
    return null;
  }
}

function storeSession(s: OfficeSession | null): void {
  try {
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // the session then lasts until reload
  }
}

/** The side navigation, in the order of a merchant's day; admins also see People. */
const nav: { page: PageName; path: string; key: MessageKey; adminOnly?: boolean }[] = [
  { page: 'dashboard', path: '', key: 'nav.dashboard' },
  { page: 'queue', path: 'queue', key: 'nav.queue' },
  { page: 'returns', path: 'returns', key: 'nav.returns' },
  { page: 'orders', path: 'orders', key: 'nav.orders' },
  { page: 'collect', path: 'collect', key: 'nav.collect' },
  { page: 'settlement', path: 'settlement', key: 'nav.settlement' },
  { page: 'audit', path: 'audit', key: 'nav.audit' },
  { page: 'policy', path: 'policy', key: 'nav.policy' },
  { page: 'people', path: 'people', key: 'nav.people', adminOnly: true },
];

function currentRoute(): Route {
  return parseRoute(location.pathname, location.search);
}

function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [session, setSession] = useState<OfficeSession | null>(loadSession);
  const [refused, setRefused] = useState(false);
  const [route, setRoute] = useState<Route>(currentRoute);
  const [notice, setNotice] = useState<MessageKey | null>(null);

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

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = translate(lang, 'appName');
  }, [lang]);

  useEffect(() => {
    const onPop = () => setRoute(currentRoute());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = useCallback((path: string) => {
    const url = officePath(path);
    if (url !== location.pathname + location.search) history.pushState(null, '', url);
    setRoute(currentRoute());
    window.scrollTo(0, 0);
  }, []);

  const endSession = useCallback((why: MessageKey | null) => {
    storeSession(null);
    setSession(null);
    setNotice(why);
  }, []);

  const signedIn = useCallback(async (s: Session) => {
    // The merchant's time zone comes with the session; an older server without it means Shanghai.
    let timeZone = DEFAULT_TIME_ZONE;
    try {
      const current = await request<{ timeZone?: string; merchant?: { timeZone?: string } }>(
        'GET',
        '/v1/sessions/current',
        { token: s.token },
      );
      timeZone = current.timeZone ?? current.merchant?.timeZone ?? DEFAULT_TIME_ZONE;
    } catch {
      // keep the default
    }
    const full = { ...s, timeZone };
    storeSession(full);
    setSession(full);
    setNotice(null);
  }, []);

  const api = useMemo(
    () => (session ? apiFor(session.token, () => endSession('sessionExpired')) : null),
    [session, endSession],
  );

  const signOut = useCallback(() => {
    if (session) void request('DELETE', '/v1/sessions/current', { token: session.token }).catch(() => {});
    endSession(null);
  }, [session, endSession]);

  const role = session?.operator.role;
  const ctx = useMemo<OfficeCtx | null>(
    () =>
      session && api && (role === 'supervisor' || role === 'admin')
        ? { api, session, timeZone: session.timeZone ?? DEFAULT_TIME_ZONE, role, go, signOut }
        : null,
    [session, api, role, go, signOut],
  );

  let body: preact.JSX.Element;
  if (refused || (session && !ctx)) {
    body = (
      <CashierRefused
        onAgain={() => {
          setRefused(false);
          endSession(null);
        }}
      />
    );
  } else if (!ctx) {
    body = <SignInPage notice={notice} onSignedIn={signedIn} onRefused={() => setRefused(true)} />;
  } else {
    const items = nav.filter((n) => !n.adminOnly || ctx.role === 'admin');
    const active = route.page === 'order' ? 'orders' : route.page;
    body = (
      <OfficeContext.Provider value={ctx}>
        <div class="office">
          <aside class="side">
            <div class="brand">{t('appName')}</div>
            <nav aria-label="office">
              {items.map((n) => (
                <a
                  key={n.page}
                  href={officePath(n.path)}
                  class={active === n.page ? 'nav-item on' : 'nav-item'}
                  aria-current={active === n.page ? 'page' : undefined}
                  data-nav={n.page}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
                    e.preventDefault();
                    go(n.path);
                  }}
                >
                  {t(n.key)}
                </a>
              ))}
            </nav>
          </aside>
          <div class="main-col">
            <header class="topbar">
              <span class="who" data-testid="who">
                {ctx.session.merchantId} · {ctx.session.operator.name ?? ctx.session.operator.no} (
                {t(`role.${ctx.role}`)})
              </span>
              <span class="muted tz">{t('timeZoneNote', { tz: ctx.timeZone })}</span>
              <LangSwitch />
              <button type="button" class="btn btn-ghost" data-testid="sign-out" onClick={signOut}>
                {t('signOut')}
              </button>
            </header>
            <main class="page" key={`${route.page}|${route.param ?? ''}`}>
              <PageFor route={route} role={ctx.role} />
            </main>
          </div>
        </div>
      </OfficeContext.Provider>
    );
  }
  return <I18nContext.Provider value={i18n}>{body}</I18nContext.Provider>;
}

function PageFor({ route, role }: { route: Route; role: 'supervisor' | 'admin' }) {
  const { t } = useI18n();
  switch (route.page) {
    case 'dashboard':
      return <DashboardPage />;
    case 'queue':
      return <QueuePage query={route.query} />;
    case 'returns':
      return <ReturnsPage query={route.query} />;
    case 'orders':
      return <OrdersPage query={route.query} />;
    case 'order':
      return <OrderPage orderNo={route.param ?? ''} />;
    case 'collect':
      return <CollectPage query={route.query} />;
    case 'settlement':
      return <SettlementPage />;
    case 'audit':
      return <AuditPage />;
    case 'policy':
      return <PolicyPage />;
    case 'people':
      return role === 'admin' ? <PeoplePage /> : <p class="notice notice-warn">{t('forbiddenPage')}</p>;
    default:
      return <p class="notice">{t('notFoundPage')}</p>;
  }
}

const root = document.getElementById('app');
if (root) render(<App />, root);
