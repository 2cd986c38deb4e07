import { useContext } from 'preact/hooks';
import type { Lang } from '../shared/api';
import {
  common,
  type I18n,
  I18nContext,
  initialLang as initial,
  saveLang as save,
  translator,
} from '../shared/i18n';
import { adminWords } from './pages/admin.words';
import { ordersWords } from './pages/orders.words';
import { returnsWords } from './pages/returns.words';
import { shellWords } from './words';

export { I18nContext, langNames, langs } from '../shared/i18n';

/** The back office's words: the shared ones (src/web/shared/i18n.ts), the shell's, each page's. */
const m = { ...common, ...shellWords, ...ordersWords, ...adminWords, ...returnsWords };

const LANG_KEY = 'rd.office.lang';

export type MessageKey = keyof typeof m;
export const translate = translator(m);
export const initialLang = (): Lang => initial(LANG_KEY);
export const saveLang = (lang: Lang): void => save(LANG_KEY, lang);
export const useI18n = (): I18n<MessageKey> => useContext(I18nContext);
/** For a key built at run time (`status.${s}`): the key if the table has it, else the fallback. */
export const hasKey = (key: string): key is MessageKey => key in m;
/** The codes a run-time key family knows (`audit.` → the actions the page has words for). */
export const keysUnder = (prefix: string): string[] =>
  Object.keys(m)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));
