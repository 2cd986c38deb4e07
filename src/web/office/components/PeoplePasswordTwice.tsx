import type { MessageKey } from '../i18n';
import { useI18n } from '../i18n';

export interface TwoPasswords {
  first: string;
  second: string;
}

const MAX_PASSWORD_LENGTH = 64;

/** What is wrong with a new password typed twice, if anything (its length per role is the server's rule). */
export function passwordProblem(p: TwoPasswords): MessageKey | null {
  if (p.first === '') return 'pwEmpty';
  if (p.first !== p.second) return 'pwMismatch';
  return null;
}

/** A new password and the same again; shown as dots, never remembered by the browser. */
export function PeoplePasswordTwice({
  value,
  onChange,
  problem,
}: {
  value: TwoPasswords;
  onChange: (v: TwoPasswords) => void;
  problem: MessageKey | null;
}) {
  const { t } = useI18n();
  return (
    <>
      <label>
        {t('pwNew')}
        <input
          type="password"
          name="newPassword"
          value={value.first}
          maxLength={MAX_PASSWORD_LENGTH}
          autoComplete="new-password"
          aria-invalid={problem ? 'true' : undefined}
          onInput={(e) => onChange({ ...value, first: e.currentTarget.value })}
        />
      </label>
      <label>
        {t('pwAgain')}
        <input
          type="password"
          name="confirmPassword"
          value={value.second}
          maxLength={MAX_PASSWORD_LENGTH}
          autoComplete="new-password"
          aria-invalid={problem ? 'true' : undefined}
          onInput={(e) => onChange({ ...value, second: e.currentTarget.value })}
        />
        {problem ? (
          <span class="field-error" data-testid="password-problem">
            {t(problem)}
          </span>
        ) : (
          <span class="muted">{t('pwRuleHint')}</span>
        )}
      </label>
    </>
  );
}
