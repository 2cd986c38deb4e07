import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { type MessageKey, useI18n } from '../i18n';
import { formatFen } from '../money';
import { explain } from '../problems';

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

export function Steps({ steps, current }: { steps: MessageKey[]; current: number }) {
  const { t } = useI18n();
  return (
    <ol class="steps" aria-label="steps">
      {steps.map((s, i) => (
        <li
          key={s}
          class={i === current ? 'step current' : i < current ? 'step done' : 'step'}
          aria-current={i === current ? 'step' : undefined}
        >
          <span class="step-no">{i + 1}</span>
          {t(s)}
        </li>
      ))}
    </ol>
  );
}

/** One field fed by the keypad or the keyboard; `inputMode=none` keeps the OS keyboard away. */
export function PadField({
  label,
  value,
  onValue,
  onFocus,
  active,
  password,
  prefix,
  name,
  inputRef,
  autoFocus,
}: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  onFocus?: () => void;
  active?: boolean;
  password?: boolean;
  prefix?: string;
  name: string;
  inputRef?: (el: HTMLInputElement | null) => void;
  autoFocus?: boolean;
}) {
  const id = `field-${name}`;
  return (
    <div class={`pad-field${active ? ' active' : ''}`}>
      <label class="pad-label" for={id}>
        {label}
      </label>
      <span class="pad-input">
        {prefix ? <span class="pad-prefix">{prefix}</span> : null}
        {password ? (
          <input
            id={id}
            name={name}
            ref={inputRef}
            type="password"
            inputMode="none"
            autoComplete="off"
            value={value}
            onFocus={onFocus}
            onInput={(e) => onValue(e.currentTarget.value)}
          />
        ) : (
          <input
            id={id}
            name={name}
            ref={inputRef}
            type="text"
            inputMode="none"
            autoComplete="off"
            // biome-ignore lint/a11y/noAutofocus: a screen with one amount to type starts in it
            autoFocus={autoFocus}
            value={value}
            onFocus={onFocus}
            onInput={(e) => onValue(e.currentTarget.value)}
          />
        )}
      </span>
    </div>
  );
}

const keys = ['1', '2', '3', 'back', '4', '5', '6', 'clear', '7', '8', '9', '.', '0', '00'] as const;

/**
 * The on-screen numeric keypad. Its keys do not take the focus (pointerdown is cancelled), so the
 * field being typed into keeps it; they are skipped by Tab, since a keyboard types digits itself.
 * The OK key submits the surrounding form, like Enter does.
 */
export function Keypad({
  onKey,
  okLabel,
  decimals,
  busy,
}: {
  onKey: (key: string) => void;
  okLabel?: string;
  decimals?: boolean;
  busy?: boolean;
}) {
  const { t } = useI18n();
  const keep = (e: Event) => e.preventDefault();
  return (
    <fieldset class="keypad" aria-label="keypad">
      {keys.map((k) => (
        <button
          key={k}
          type="button"
          tabIndex={-1}
          class={`key key-${k === '.' ? 'dot' : k}`}
          disabled={(k === '.' || k === '00') && !decimals}
          data-key={k}
          aria-label={k === 'back' ? t('backspace') : k === 'clear' ? t('clear') : k}
          onPointerDown={keep}
          onMouseDown={keep}
          onClick={() => onKey(k)}
        >
          {k === 'back' ? '⌫' : k === 'clear' ? 'C' : k}
        </button>
      ))}
      <button type="submit" class="key key-ok" data-key="ok" disabled={busy} onPointerDown={keep}>
        {busy ? '…' : (okLabel ?? t('ok'))}
      </button>
    </fieldset>
  );
}

/** Keys for fields that take digits only (operator numbers, passwords, card last four). */
export function typeDigitKey(current: string, key: string, max = 32): string {
  if (key === 'back') return current.slice(0, -1);
  if (key === 'clear') return '';
  if (!/^[0-9]{1,2}$/.test(key)) return current;
  return (current + key).slice(0, max);
}
