import type { Logger } from 'pino';
import type { Principal } from '../domain/auth.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import type { NetworkPort } from '../network/port.js';
import type { Secrets } from '../security.js';
import type { Store } from '../store/db.js';

/** Everything an application service needs, passed in (no globals, clock injectable). */
export interface Ctx {
  store: Store;
  secrets: Secrets;
  calendar: BusinessCalendar;
  network: NetworkPort;
  clock: () => Date;
  log: Logger;
  /**
   * PUBLIC_URL: where consumers reach this server (the links in return QRs, on vouchers and in
   * messages). Unset: a request's own origin, and for messages sent by the worker
   * `http://localhost:<PORT>`.
   */
  publicUrl?: string | undefined;
}

/** Who is calling: an operator signed in at a terminal, or a merchant system with an API key. */
export interface Caller {
  merchantId: string;
  principal: Principal;
  /** `op:01` or `key:<id>`: what the audit log and refund history record. */
  actor: string;
  operatorId: string | null;
  operatorNo: string | null;
  terminalId: string | null;
}
