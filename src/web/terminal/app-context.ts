import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api, Payment, Policy, Session } from '../shared/api';

/** Where the terminal is; screens keep their own steps inside. */
export type Route =
  | { name: 'home' }
  | { name: 'sale' }
  | { name: 'refund'; payment?: Payment }
  | { name: 'void' }
  | { name: 'adjust' }
  | { name: 'transactions' }
  | { name: 'settlement' }
  | { name: 'reprint'; refundId?: string }
  | { name: 'operators' }
  | { name: 'returns' };

export type NetworkState = 'up' | 'down' | 'unknown';

/** The signed-in merchant: its name (on printed slips) and the time zone its times are shown in. */
export interface MerchantInfo {
  name: string;
  timeZone: string;
}

export interface AppCtx {
  api: Api;
  session: Session;
  policy: Policy | null;
  merchant: MerchantInfo;
  network: NetworkState;
  go(route: Route): void;
  signOut(): void;
}

export const AppContext = createContext<AppCtx | null>(null);

export function useApp(): AppCtx {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useApp outside a signed-in terminal');
  return ctx;
}

/** Small preferences kept on this terminal (not secrets: no token or password is stored here). */
export const prefs = {
  get(key: string): string | null {
    try {
      return localStorage.getItem(`rd.terminal.${key}`);
    } catch {
      return null;
    }
  },
  set(key: string, value: string): void {
    try {
      localStorage.setItem(`rd.terminal.${key}`, value);
    } catch {
      // storage switched off: nothing to remember
    }
  },
};
