import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { ApiError, newIdempotencyKey } from '../../shared/api';
import { Button, ErrorBox } from '../../shared/components';
import { useI18n } from '../i18n';

/**
 * The office's one modal dialog (void, refund, adjust, people, API keys, settlement): the browser's
 * own <dialog>, so focus stays inside and the page behind cannot be clicked. Esc or ✕ closes it,
 * unless a request is under way (`busy`); the first field (or the main button) gets the focus.
 */
export function Dialog({
  title,
  onClose,
  children,
  testId,
  busy,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  testId?: string;
  busy?: boolean;
  /** Forms with several fields (refund, adjust) get more room than a question. */
  wide?: boolean;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    d?.querySelector<HTMLElement>('input, select, textarea, button.btn-primary')?.focus();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={wide ? 'modal modal-wide' : 'modal'}
      aria-labelledby={titleId}
      data-testid={testId}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <header class="modal-head">
        <h2 id={titleId}>{title}</h2>
        <button
          type="button"
          class="btn btn-ghost"
          aria-label={t('close')}
          data-testid="dialog-close"
          disabled={busy}
          onClick={onClose}
        >
          ✕
        </button>
      </header>
      {children}
    </dialog>
  );
}

/** "Are you sure?" before a change that locks someone out or cannot be undone. */
export function ConfirmDialog({
  title,
  text,
  confirmLabel,
  danger,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  title: string;
  text: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  return (
    <Dialog title={title} onClose={onCancel} testId="confirm">
      <div class="modal-text">{text}</div>
      <ErrorBox error={error} />
      <div class="actions modal-actions">
        <Button onClick={onCancel} data-testid="confirm-no">
          {t('cancel')}
        </Button>
        <Button
          variant={danger ? 'danger' : 'primary'}
          busy={busy ?? false}
          onClick={onConfirm}
          data-testid="confirm-yes"
        >
          {confirmLabel}
        </Button>
      </div>
    </Dialog>
  );
}

/**
 * The idempotency key for the next try after `err`: the same one when the answer was lost (offline,
 * a server error), so a retry cannot do the work twice; a fresh one after a refusal, which did
 * nothing, so the corrected request is not taken for a different use of the old key.
 */
export function keyAfter(err: unknown, key: string): string {
  const lost = err instanceof ApiError && (err.code === 'offline' || err.problem.status >= 500);
  return lost ? key : newIdempotencyKey();
}
