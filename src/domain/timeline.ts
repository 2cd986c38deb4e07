import { type Localized, outcomeFor } from './outcomes.js';
import { refundStatuses } from './refund-state.js';

/**
 * An order's timeline (issue 11, order management): everything that happened to it, in one list,
 * oldest first — the sale and any adjustment charge, voids, each refund and its status changes,
 * adjustments, the network messages exchanged for them (the card link's journal), reversals,
 * vouchers printed and sent to the consumer.
 *
 * Pure vocabulary and rules: the entry's shape, its machine-readable titles (the pages translate
 * them), the order of entries and the cap. The store rows are turned into entries in
 * service/order-timeline.ts.
 */

export const timelineKinds = [
  'sale',
  'charge',
  'void',
  'refund',
  'refund_status',
  'adjustment',
  'network',
  'reversal',
  'notification',
  'receipt',
] as const;
export type TimelineKind = (typeof timelineKinds)[number];

/** The financial requests the card link journals (network/journal.ts LinkAttemptKind). */
export const networkMessageTypes = ['sale', 'void', 'refund'] as const;
export type NetworkMessageType = (typeof networkMessageTypes)[number];

/**
 * What became of one network request, as a title's last part: `sent` (the request left), `not_sent`
 * (it never left), `approved` / `declined` (the answer, 00 or another code), `refused` (the host
 * refused our message's key or MAC and applied nothing).
 */
export const networkSteps = ['sent', 'not_sent', 'approved', 'declined', 'refused'] as const;
export type NetworkStep = (typeof networkSteps)[number];

/** Every title an entry can have: a stable code per event, for the pages to translate. */
export const timelineTitles = [
  'sale.captured',
  'charge.captured',
  'sale.voided',
  'charge.voided',
  'refund.created',
  ...refundStatuses.map((s) => `refund.${s}` as const),
  'order.adjusted',
  ...networkMessageTypes.flatMap((t) => networkSteps.map((step) => `network.${t}.${step}` as const)),
  'reversal.queued',
  'reversal.acknowledged',
  'notification.queued',
  'notification.sent',
  'notification.failed',
  'receipt.printed',
  'receipt.reprinted',
] as const;
export type TimelineTitle = (typeof timelineTitles)[number];

/** One message exchanged with the network, or the network's answer as a refund recorded it. */
export interface TimelineNetwork {
  /** The request the message belongs to. */
  messageType: NetworkMessageType;
  /** `out`: we sent it; `in`: the network's answer. Absent when no single message is meant. */
  direction?: 'out' | 'in';
  /** ISO 8583 message type indicator (0200, 0210, 0220, 0230, 0400, 0410 …). */
  mti?: string;
  /** Field 11, the terminal's trace number. */
  stan?: string;
  terminalId?: string;
  /** Field 39. */
  responseCode?: string;
  /** The response code in words (the response code catalogue, GET /v1/response-codes/:code). */
  responseText?: Localized;
  /** Field 37 (RRN). */
  reference?: string;
}

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  title: TimelineTitle;
  /** Who did it: `op:<operatorNo>`, `key:<id>`, `worker`, `network`, `consumer` … */
  actor?: string;
  /** Minor units, with `currency`: the sale, charge, void, refund or network request's amount. */
  amount?: number;
  currency?: string;
  paymentId?: string;
  refundId?: string;
  adjustmentId?: string;
  /**
   * sale/charge: captured; void: voided; refund: its status when created; refund_status: the new
   * status; network/reversal: the attempt's state (sent, answered, unsent, reversing, reversed);
   * notification: queued, sent or failed.
   */
  status?: string;
  /** sale/charge: the payment method; refund: the refund method. */
  method?: string;
  reason?: { code: string; note: string | null };
  /** refund_status: the note given with the change (a rejection's reason …). */
  note?: string;
  /** refund_status: the status it left. */
  fromStatus?: string;
  network?: TimelineNetwork;
  notification?: { channel: 'email' | 'sms'; destination: string; attempts: number };
  receipt?: { printNo: number; format: string };
  adjustment?: { revision: number; originalAmount: number; newAmount: number; difference: number };
}

/** An order has a handful of entries; past this many, the oldest are shown and the list says so. */
export const MAX_TIMELINE_ENTRIES = 500;

/** Oldest first; entries at the same instant keep the order they were given in (stable sort). */
export function orderTimeline(entries: readonly TimelineEntry[]): {
  entries: TimelineEntry[];
  truncated: boolean;
} {
  const sorted = [...entries].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return {
    entries: sorted.slice(0, MAX_TIMELINE_ENTRIES),
    truncated: sorted.length > MAX_TIMELINE_ENTRIES,
  };
}

const approved: Localized = {
  'zh-CN': '交易成功：网络方已批准。',
  'zh-TW': '交易成功：網路方已核准。',
  en: 'Approved by the network.',
};

const reversalAcknowledged: Localized = {
  'zh-CN': '冲正成功：网络方已确认撤回这笔没有应答的请求，没有资金变动。',
  'zh-TW': '沖正成功：網路方已確認撤回這筆沒有回應的請求，沒有資金異動。',
  en: 'Reversal acknowledged: the network undid the unanswered request; no money moved.',
};

/**
 * A response code in words, from the response code catalogue (domain/outcomes.ts). The catalogue
 * speaks of refunds: its 00 reads "refund approved", so a sale's or void's 00, and the 00 that
 * acknowledges a reversal, get words of their own.
 */
export function responseTextOf(
  code: string,
  message: { type: NetworkMessageType; reversal?: boolean },
): Localized {
  if (code === '00' && message.reversal) return reversalAcknowledged;
  if (code === '00' && message.type !== 'refund') return approved;
  return outcomeFor(code).message;
}

/** The answer's MTI: the request's with its function digit raised by one (0200 → 0210, 0400 → 0410). */
export function answerMti(requestMti: string): string | undefined {
  const m = /^(\d{2})([0-8])(\d)$/.exec(requestMti);
  return m ? `${m[1]}${Number(m[2]) + 1}${m[3]}` : undefined;
}
