import type { Lang, Outcome, TimelineEntry } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { hasKey, type MessageKey, useI18n } from '../i18n';
import { StatusBadge } from './common';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** The words for the first of `keys` the table has; null when it has none. */
function words(t: T, ...keys: string[]): string | null {
  for (const k of keys) if (hasKey(k)) return t(k);
  return null;
}

/**
 * An entry's title in words: `tl.<title>`; a network message's from its request and step
 * (`network.refund.declined` → 退款报文 · 银行拒绝); else the kind's words; else the code.
 */
export function titleText(e: TimelineEntry, t: T): string {
  const own = words(t, `tl.${e.title}`);
  if (own) return own;
  const net = /^network\.(\w+)\.(\w+)$/.exec(e.title);
  if (net) {
    const what = words(t, `netType.${net[1]}`);
    const step = words(t, `netStep.${net[2]}`);
    if (what && step) return `${what} · ${step}`;
  }
  return words(t, `tl.${e.kind}`) ?? e.title;
}

/** Who did it in words: `op:00` → 操作员 00, `key:…` → the merchant system's key, `worker` → 后台任务. */
export function actorText(actor: string, t: T): string {
  const op = /^op:(.+)$/.exec(actor);
  if (op?.[1]) return t('actorOperator', { no: op[1] });
  const key = /^key:(.+)$/.exec(actor);
  if (key?.[1]) return t('actorApiKey', { id: key[1] });
  return words(t, `actor.${actor}`) ?? actor;
}

/** A response code in words: as the entry gives them, else from the catalogue (GET /v1/response-codes). */
function responseWords(
  net: NonNullable<TimelineEntry['network']>,
  outcomes: Map<string, Outcome>,
  lang: Lang,
): string {
  if (!net.responseCode) return '';
  return net.responseText?.[lang] ?? outcomes.get(net.responseCode)?.message[lang] ?? '';
}

/** The status word of an entry: a refund's, a payment's, or the step of a message or notification. */
function StatusOf({ kind, value }: { kind: TimelineEntry['kind']; value: string }) {
  const { t } = useI18n();
  if ((kind === 'refund' || kind === 'refund_status') && hasKey(`status.${value}`))
    return <StatusBadge prefix="status" value={value} />;
  if ((kind === 'sale' || kind === 'charge' || kind === 'void') && hasKey(`pay.${value}`))
    return <StatusBadge prefix="pay" value={value} />;
  return <span class={`badge tl-status-${value}`}>{words(t, `tlStatus.${value}`) ?? value}</span>;
}

/**
 * The order's whole life in one list, oldest first: sale, voids, refunds and their status
 * changes, adjustments, the network messages with their response codes in words, reversals,
 * vouchers printed and notifications sent. Times in the merchant's zone.
 */
export function OrderTimeline({
  entries,
  truncated,
  outcomes,
}: {
  entries: readonly TimelineEntry[];
  truncated: boolean;
  outcomes: Map<string, Outcome>;
}) {
  const { timeZone } = useOffice();
  const { t, lang } = useI18n();
  if (entries.length === 0) return <p class="empty">{t('timelineEmpty')}</p>;
  return (
    <>
      {truncated ? <p class="muted">{t('timelineTruncated', { n: entries.length })}</p> : null}
      <ol class="order-timeline" data-testid="timeline">
        {entries.map((e, i) => (
          <li
            key={`${e.at}|${i}`}
            class={`tl-entry tl-kind-${e.kind}`}
            data-testid="timeline-entry"
            data-kind={e.kind}
            data-title={e.title}
          >
            <time class="tl-time" dateTime={e.at}>
              {formatDateTime(e.at, timeZone, lang)}
            </time>
            <div class="tl-body">
              <div class="tl-head">
                <strong class="tl-title">{titleText(e, t)}</strong>
                {typeof e.amount === 'number' ? <span class="tl-amount">{formatFen(e.amount)}</span> : null}
                {e.status ? <StatusOf kind={e.kind} value={e.status} /> : null}
              </div>
              <TimelineFacts entry={e} outcomes={outcomes} />
            </div>
          </li>
        ))}
      </ol>
    </>
  );
}

/** The entry's particulars, one muted line each: who, how, why, the message, the voucher. */
function TimelineFacts({ entry: e, outcomes }: { entry: TimelineEntry; outcomes: Map<string, Outcome> }) {
  const { t, lang } = useI18n();
  const net = e.network;
  const method = e.method
    ? (words(t, e.kind === 'refund' ? `refundMethod.${e.method}` : `method.${e.method}`) ?? e.method)
    : null;
  return (
    <>
      {e.actor || method ? (
        <div class="muted">
          {[e.actor ? actorText(e.actor, t) : null, method].filter(Boolean).join(' · ')}
        </div>
      ) : null}
      {e.reason ? (
        <div class="muted">
          {words(t, `reason.${e.reason.code}`) ?? e.reason.code}
          {e.reason.note ? ` · ${e.reason.note}` : ''}
        </div>
      ) : null}
      {e.note ? <div class="muted">{e.note}</div> : null}
      {e.adjustment ? (
        <div class="muted">
          {formatFen(e.adjustment.originalAmount)} → {formatFen(e.adjustment.newAmount)} (
          {t('adjustDifference')} {formatFen(e.adjustment.difference)})
        </div>
      ) : null}
      {net ? (
        <div class="tl-network" data-testid="timeline-network">
          <span class="tl-mti">
            {net.direction ? t(net.direction === 'out' ? 'direction.out' : 'direction.in') : ''}
            {net.mti ? ` ${net.mti}` : ''}
            {net.stan ? ` · ${t('stan')} ${net.stan}` : ''}
          </span>
          {net.responseCode ? (
            <span class="tl-code" data-testid="response-code" data-code={net.responseCode}>
              {t('responseCode')} {net.responseCode} {responseWords(net, outcomes, lang)}
            </span>
          ) : null}
          {net.reference ? (
            <span class="muted">
              {t('networkReference')} {net.reference}
            </span>
          ) : null}
        </div>
      ) : null}
      {e.notification ? (
        <div class="muted" data-testid="timeline-notification">
          {t(e.notification.channel === 'sms' ? 'channel.sms' : 'channel.email')} {e.notification.destination}
          {e.notification.attempts > 1 ? ` · ${t('attempts', { n: e.notification.attempts })}` : ''}
        </div>
      ) : null}
      {e.receipt ? (
        <div class="muted">{t('printNo', { n: e.receipt.printNo, format: e.receipt.format })}</div>
      ) : null}
    </>
  );
}
