import { type MessageKey, useI18n } from '../i18n';

export { Amount, Button, ErrorBox, Facts, Notice, useAutofocus, useEscape } from '../../shared/components';

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
