import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { Lang } from './api';
import { langNames, langs, useCommonI18n as useI18n } from './i18n';
import { formatFen } from './money';
import { explain } from './problems';

/*
 * Components both web apps use (terminal and back office): buttons, problems in plain words,
 * notices, amounts, label/value rows, and the keyboard hooks.
 */

/** Esc goes back (or closes): every screen with a way back registers it. */
export function useEscape(handler: (() => void) | null): void {
  const ref = useRef(handler);
  ref.current = handler;
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && ref.current) {
        e.preventDefault();
        ref.current();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/** Focus an element when it first appears (search fields are ready for the scanner). */
export function useAutofocus<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  // Layout effect: the focus is in place before the next key (a scanner does not wait for paint).
  useLayoutEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

type ButtonProps = Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'type'> & {
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost' | 'tile';
  busy?: boolean;
  type?: 'button' | 'submit';
  disabled?: boolean;
};

export function Button({
  variant = 'secondary',
  busy,
  type = 'button',
  class: cls,
  children,
  ...rest
}: ButtonProps) {
  const { t } = useI18n();
  return (
    <button
      type={type}
      class={`btn btn-${variant}${cls ? ` ${String(cls)}` : ''}`}
      aria-busy={busy ? 'true' : undefined}
      {...rest}
      disabled={Boolean(rest.disabled) || Boolean(busy)}
    >
      {busy ? t('working') : children}
    </button>
  );
}

/** A problem in plain words and what to do about it; never a bare code. */
export function ErrorBox({ error, children }: { error: unknown; children?: ComponentChildren }) {
  const { lang } = useI18n();
  if (!error) return null;
  const e = explain(error, lang);
  return (
    <div class="error-box" role="alert">
      <div class="error-message">{e.message}</div>
      <div class="error-fix">{e.fix}</div>
      {children ? <div class="error-actions">{children}</div> : null}
    </div>
  );
}

export function Notice({ kind = 'info', children }: { kind?: 'info' | 'warn'; children: ComponentChildren }) {
  return (
    <div class={`notice notice-${kind}`} role="status">
      {children}
    </div>
  );
}

export function Amount({ fen, class: cls }: { fen: number; class?: string }) {
  return <span class={`amount${cls ? ` ${cls}` : ''}`}>{formatFen(fen)}</span>;
}

/** Label / value rows (summaries, confirmations, results). */
export function Facts({ rows }: { rows: [string, ComponentChildren, string?][] }) {
  return (
    <dl class="facts">
      {rows.map(([label, value, testId]) => (
        <div class="fact" key={label}>
          <dt>{label}</dt>
          <dd data-testid={testId}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The language picker of the back office and the consumer's pages (the terminal has buttons). */
export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label class="lang">
      <span class="sr-only">{t('language')}</span>
      <select
        data-testid="lang"
        value={lang}
        onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}
      >
        {langs.map((l) => (
          <option key={l} value={l}>
            {langNames[l]}
          </option>
        ))}
      </select>
    </label>
  );
}
