import { useRef, useState } from 'preact/hooks';
import {
  type ConsumerReturn,
  newIdempotencyKey,
  type ReasonCode,
  type ReturnSubmitted,
  reasonCodes,
  request,
} from '../shared/api';
import { Button } from '../shared/components';
import { MAX_EMAIL_LENGTH } from '../shared/contact';
import { isLinkProblem, SubmitError } from './components';
import { checkDraft, MAX_NOTE_LENGTH, type ReturnDraft } from './contact';
import { useI18n } from './i18n';
import { statusPath } from './route';

const sentKey = (token: string) => `rd.consumer.sent.${token.split('.')[0] ?? token}`;

/** The status page of a return this phone submitted (shown if its used link is opened again). */
export function sentStatusPath(token: string): string | null {
  try {
    return localStorage.getItem(sentKey(token));
  } catch {
    return null;
  }
}

function rememberSent(token: string, path: string): void {
  try {
    localStorage.setItem(sentKey(token), path);
  } catch {
    // storage switched off: the consumer has the link in the message instead
  }
}

/**
 * The reason and the contact, sent once. A retry of the same submission (same words, same
 * language) carries the same Idempotency-Key, so an answer lost on mobile data is fetched again
 * instead of refused as a second use; a changed submission gets a new key.
 */
export function ReturnForm(props: {
  data: ConsumerReturn;
  token: string;
  onSubmitted(path: string): void;
  onRefused(error: unknown): void;
}) {
  const { t, lang } = useI18n();
  const [draft, setDraft] = useState<ReturnDraft>({ reason: null, note: '', phone: '', email: '' });
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const key = useRef<{ body: string; key: string } | null>(null);
  const sending = useRef(false);

  const checked = checkDraft(draft);
  const errors = showErrors && !checked.ok ? checked.errors : {};
  const offered = reasonCodes.filter(
    (c) => props.data.reasons.length === 0 || props.data.reasons.includes(c),
  );
  const edit = (patch: Partial<ReturnDraft>) => setDraft((d) => ({ ...d, ...patch }));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (sending.current) return;
    if (!checked.ok) {
      setShowErrors(true);
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    const body = { ...checked.body, lang };
    const text = JSON.stringify(body);
    if (key.current?.body !== text) key.current = { body: text, key: newIdempotencyKey() };
    sending.current = true;
    setBusy(true);
    setError(null);
    try {
      const done = await request<ReturnSubmitted>(
        'POST',
        `/v1/consumer/returns/${encodeURIComponent(props.token)}/submit`,
        { body, idempotencyKey: key.current.key },
      );
      const path = statusPath(done.trackingUrl);
      rememberSent(props.token, path);
      props.onSubmitted(path);
    } catch (err) {
      if (isLinkProblem(err)) props.onRefused(err);
      else setError(err);
    } finally {
      sending.current = false;
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={submit} noValidate>
      <fieldset class="card" aria-invalid={errors.reason ? 'true' : undefined} tabIndex={-1}>
        <legend class="card-title">{t('reasonTitle')}</legend>
        <div class="choices" role="radiogroup">
          {offered.map((code) => (
            <ReasonChoice
              key={code}
              code={code}
              on={draft.reason === code}
              pick={() => edit({ reason: code })}
            />
          ))}
        </div>
        {draft.reason === 'other' ? (
          <textarea
            class="field"
            data-testid="reason-note"
            rows={3}
            maxLength={MAX_NOTE_LENGTH}
            placeholder={t('reasonNote')}
            aria-label={t('reasonNote')}
            aria-invalid={errors.note ? 'true' : undefined}
            value={draft.note}
            onInput={(e) => edit({ note: e.currentTarget.value })}
          />
        ) : null}
        <FieldError code={errors.reason ?? errors.note} />
      </fieldset>

      <fieldset class="card">
        <legend class="card-title">{t('contactTitle')}</legend>
        <p class="muted hint">{t('contactHint')}</p>
        <label class="label">
          <span>{t('phone')}</span>
          <input
            class="field"
            type="tel"
            inputMode="tel"
            autoComplete="tel"
            maxLength={32}
            data-testid="contact-phone"
            placeholder={t('phonePlaceholder')}
            aria-invalid={errors.phone ? 'true' : undefined}
            value={draft.phone}
            onInput={(e) => edit({ phone: e.currentTarget.value })}
          />
        </label>
        <FieldError code={errors.phone} />
        <label class="label">
          <span>{t('email')}</span>
          <input
            class="field"
            type="email"
            inputMode="email"
            autoComplete="email"
            maxLength={MAX_EMAIL_LENGTH}
            data-testid="contact-email"
            placeholder={t('emailPlaceholder')}
            aria-invalid={errors.email ? 'true' : undefined}
            value={draft.email}
            onInput={(e) => edit({ email: e.currentTarget.value })}
          />
        </label>
        <FieldError code={errors.email} />
      </fieldset>

      {error ? <SubmitError error={error} /> : null}
      <p class="muted submit-note">{t('submitNote')}</p>
      <div class="actions">
        <Button variant="primary" type="submit" class="btn-block" busy={busy} data-testid="submit">
          {t('submit')}
        </Button>
      </div>
    </form>
  );
}

function ReasonChoice({ code, on, pick }: { code: ReasonCode; on: boolean; pick(): void }) {
  const { t } = useI18n();
  return (
    <label class={on ? 'choice on' : 'choice'} data-testid={`reason-${code}`}>
      <input type="radio" name="reason" value={code} checked={on} onChange={pick} />
      <span>{t(`reason.${code}`)}</span>
    </label>
  );
}

function FieldError({
  code,
}: {
  code: 'needReason' | 'needNote' | 'needContact' | 'badPhone' | 'badEmail' | undefined;
}) {
  const { t } = useI18n();
  return code ? (
    <p class="field-error" role="alert" data-testid="field-error">
      {t(code)}
    </p>
  ) : null;
}
