import type { ComponentChildren } from 'preact';
import { ApiError, type PaymentMethod, type RefundMethod } from '../shared/api';
import { LangSwitch } from '../shared/components';
import { formatFen } from '../shared/money';
import { type Explained, explain } from '../shared/problems';
import { DEFAULT_TIME_ZONE } from '../shared/time';
import { type MessageKey, useI18n } from './i18n';

/** The page's frame: the title bar with the language switch, the content, the footer note. */
export function Shell({ title, children }: { title: string; children: ComponentChildren }) {
  const { t } = useI18n();
  return (
    <div class="shell">
      <header class="bar">
        <h1 class="bar-title">{title}</h1>
        <LangSwitch />
      </header>
      <main class="content">{children}</main>
      <footer class="foot">{t('footer')}</footer>
    </div>
  );
}

/** The shop the page is about: its initial in a badge, its name, a line under it. */
export function MerchantHead({ name, sub }: { name: string; sub?: ComponentChildren }) {
  return (
    <section class="merchant">
      <span class="merchant-badge" aria-hidden="true">
        {Array.from(name.trim())[0] ?? '商'}
      </span>
      <div>
        <div class="merchant-name" data-testid="merchant">
          {name}
        </div>
        {sub ? <div class="merchant-sub">{sub}</div> : null}
      </div>
    </section>
  );
}

/** Refusals about the link itself: no retry helps, the page only explains them. */
const LINK_CODES = new Set([
  'return_link_invalid',
  'return_link_expired',
  'return_link_used',
  'return_canceled',
  'tracking_link_invalid',
]);
export const isLinkProblem = (err: unknown): boolean => err instanceof ApiError && LINK_CODES.has(err.code);

/** A token the API refuses by its shape (`validation_failed` on the path) is an invalid link too. */
export const asLinkProblem = (
  err: unknown,
  code: 'return_link_invalid' | 'tracking_link_invalid',
): unknown =>
  err instanceof ApiError && err.code === 'validation_failed' ? new ApiError({ status: 404, code }) : err;

/** A problem in the consumer's words: the shared explanation, but a phone's own for `offline`. */
export function useExplain(): (err: unknown) => Explained {
  const { lang, t } = useI18n();
  return (err) =>
    err instanceof ApiError && err.code === 'offline'
      ? { message: t('offline.message'), fix: t('offline.fix') }
      : explain(err, lang);
}

/** A refused submission, next to the button that sent it. */
export function SubmitError({ error }: { error: unknown }) {
  const e = useExplain()(error);
  return (
    <div class="error-box" role="alert" data-testid="submit-error">
      <div class="error-message">{e.message}</div>
      <div class="error-fix">{e.fix}</div>
    </div>
  );
}

/**
 * A page that only explains a problem (expired, used, tampered or withdrawn link…): in the
 * consumer's words what happened and what to do; nothing was changed.
 */
export function ProblemPage({
  error,
  onRetry,
  children,
}: {
  error: unknown;
  onRetry?: (() => void) | undefined;
  children?: ComponentChildren;
}) {
  const { t } = useI18n();
  const e = useExplain()(error);
  const code = (error as { code?: unknown } | null)?.code;
  return (
    <Shell title={t('appName')}>
      <section class="card problem" data-testid="problem" data-code={typeof code === 'string' ? code : ''}>
        <div class="problem-icon" aria-hidden="true">
          !
        </div>
        <h2 class="problem-title">{e.message}</h2>
        <p class="problem-fix">{e.fix}</p>
        {children}
        {onRetry ? (
          <button type="button" class="btn btn-secondary btn-block" onClick={onRetry}>
            {t('retry')}
          </button>
        ) : null}
      </section>
    </Shell>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <Shell title={t('appName')}>
      <div class="loading" role="status" aria-live="polite">
        <span class="spinner" aria-hidden="true" />
        {t('loading')}
      </div>
    </Shell>
  );
}

/** The returned lines: name, quantity, amount. */
export function ItemList({
  items,
}: {
  items: readonly { sku: string; name: string; qty: number; amount: number }[];
}) {
  const { t } = useI18n();
  return (
    <ul class="items" data-testid="items">
      {items.map((i) => (
        <li class="item" key={i.sku} data-testid="item" data-sku={i.sku}>
          <span class="item-name">{i.name}</span>
          <span class="item-qty">{t('qty', { qty: i.qty })}</span>
          <span class="item-amount">{formatFen(i.amount)}</span>
        </li>
      ))}
    </ul>
  );
}

/** Where the money goes, in the consumer's words ("back to your card ending 1234"). */
export function routeKey(
  method: RefundMethod,
  paid: PaymentMethod,
  last4: string | null,
): { key: MessageKey; vars?: { last4: string } } {
  if (method !== 'original') return { key: `refundMethod.${method}` };
  if (paid === 'card') return last4 ? { key: 'route.card', vars: { last4 } } : { key: 'route.cardNoLast4' };
  return { key: paid === 'qr' ? 'route.qr' : 'route.cash' };
}

export function RouteText(props: { method: RefundMethod; paid: PaymentMethod; last4: string | null }) {
  const { t } = useI18n();
  const r = routeKey(props.method, props.paid, props.last4);
  return <span data-testid="route">{t(r.key, r.vars)}</span>;
}

/**
 * The merchant's time zone when the answer names one (a later API may add it to `merchant`),
 * else the product's calendar zone: a consumer abroad still sees the shop's times.
 */
export const zoneOf = (v: { merchant: { name: string; timeZone?: string } }): string =>
  v.merchant.timeZone ?? DEFAULT_TIME_ZONE;
