import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { Lang } from '../shared/api';
import { Shell } from './components';
import { I18nContext, initialLang, type MessageKey, saveLang, translate, useI18n } from './i18n';
import { ReturnPage } from './ReturnPage';
import { parseRoute, type Route } from './route';
import { StatusPage } from './StatusPage';
import './styles.css';

/**
 * The consumer's pages (扫码退货, issue 12): opened from a QR on a phone, no app and no sign-in.
 * The path names the page and carries its token; submitting a return moves to its status page
 * in place (no reload), replacing the used return link in the history.
 */
function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname));

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

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = translate(lang, 'appName');
  }, [lang]);

  useEffect(() => {
    const onPop = () => setRoute(parseRoute(location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = useCallback((path: string) => {
    history.replaceState(null, '', path);
    setRoute(parseRoute(path));
    window.scrollTo(0, 0);
  }, []);

  let page: preact.JSX.Element;
  if (route.page === 'return') page = <ReturnPage key={route.token} token={route.token} onSubmitted={go} />;
  else if (route.page === 'status') page = <StatusPage key={route.token} token={route.token} />;
  else page = <Landing />;
  return <I18nContext.Provider value={i18n}>{page}</I18nContext.Provider>;
}

function Landing() {
  const { t } = useI18n();
  return (
    <Shell title={t('appName')}>
      <section class="card landing" data-testid="landing">
        <p>{t('landing')}</p>
      </section>
    </Shell>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
