import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { useEscape } from '../../shared/components';
import { useI18n } from '../i18n';

/**
 * A modal panel over the page (void, refund, adjust): Esc or the close button closes it unless
 * a request is under way; the first field gets the focus.
 */
export function OrderDialog({
  title,
  testId,
  busy,
  onClose,
  children,
}: {
  title: string;
  testId: string;
  busy?: boolean;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  useEscape(busy ? null : onClose);
  useLayoutEffect(() => {
    box.current?.querySelector<HTMLElement>('input, select, button.btn-primary')?.focus();
  }, []);
  return (
    <div class="order-overlay">
      <div
        class="order-dialog panel"
        role="dialog"
        aria-modal="true"
        aria-label={title}
        data-testid={testId}
        ref={box}
      >
        <header class="order-dialog-head">
          <h2>{title}</h2>
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
      </div>
    </div>
  );
}
