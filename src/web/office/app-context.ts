import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api, Session } from '../shared/api';

/** The office's pages, each at its own path under /office/ (deep links and the back button work). */
export type PageName =
  | 'dashboard'
  | 'queue'
  | 'returns'
  | 'orders'
  | 'order'
  | 'collect'
  | 'people'
  | 'policy'
  | 'audit'
  | 'settlement';

export interface Route {
  page: PageName | 'not_found';
  /** `/office/orders/<orderNo>` → the order number. */
  param?: string;
  query: URLSearchParams;
}

export interface OfficeCtx {
  api: Api;
  session: Session;
  /** The merchant's time zone: every time on every page is shown in it. */
  timeZone: string;
  role: 'supervisor' | 'admin';
  /** Go to a path below /office/ (`orders/123`, `queue?status=requested`). */
  go(path: string): void;
  signOut(): void;
}

export const OfficeContext = createContext<OfficeCtx | null>(null);

export function useOffice(): OfficeCtx {
  const ctx = useContext(OfficeContext);
  if (!ctx) throw new Error('useOffice outside a signed-in back office');
  return ctx;
}

const BASE = '/office/';

export function parseRoute(pathname: string, search: string): Route {
  const query = new URLSearchParams(search);
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : '';
  const [first = '', second, ...more] = rest.split('/').filter((s) => s !== '');
  if (more.length > 0) return { page: 'not_found', query };
  if (first === '') return { page: 'dashboard', query };
  if (first === 'orders' && second !== undefined)
    return { page: 'order', param: decodeURIComponent(second), query };
  const pages: PageName[] = [
    'dashboard',
    'queue',
    'returns',
    'orders',
    'collect',
    'people',
    'policy',
    'audit',
    'settlement',
  ];
  const page = pages.find((p) => p === first);
  return page && second === undefined ? { page, query } : { page: 'not_found', query };
}

export const officePath = (path: string): string => `${BASE}${path.replace(/^\//, '')}`;
