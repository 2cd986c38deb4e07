import { useState } from 'preact/hooks';
import { newIdempotencyKey, type OperatorInfo } from '../../shared/api';
import { Button, ErrorBox } from '../../shared/components';
import { useOffice } from '../app-context';
import { type MessageKey, useI18n } from '../i18n';
import { ConfirmDialog, keyAfter } from './Dialog';
import { isDemotion, isLocked, needsNewPassword, type Role, roleList } from './PeopleModel';
import { PeoplePasswordTwice, passwordProblem, type TwoPasswords } from './PeoplePasswordTwice';

type Change = { name?: string; role?: Role; disabled?: boolean; password?: string };

const noPasswords: TwoPasswords = { first: '', second: '' };

/**
 * One operator: rename and change the role (a demotion asks first; a cashier's promotion takes a
 * new password, typed twice), disable (asks first) or enable, reset the password (typed twice),
 * and unlock when locked. Each is one audited call.
 */
export function PeopleOperatorPanel({
  operator,
  onChanged,
  onUnlock,
  unlocking,
}: {
  operator: OperatorInfo;
  onChanged: (message: string) => void;
  onUnlock: () => void;
  unlocking: boolean;
}) {
  const { api, session } = useOffice();
  const { t } = useI18n();
  const [name, setName] = useState(operator.name);
  const [role, setRole] = useState<Role>(operator.role);
  const [password, setPassword] = useState<TwoPasswords>(noPasswords);
  const [passwordIssue, setPasswordIssue] = useState<MessageKey | null>(null);
  const [asking, setAsking] = useState<{ change: Change; text: string; label: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [key, setKey] = useState(newIdempotencyKey);
  const no = operator.operatorNo;
  const self = no === session.operator.no;
  const promoting = needsNewPassword(operator.role, role);

  const patch = async (change: Change, done: MessageKey) => {
    setBusy('patch');
    setError(null);
    try {
      await api.patch(`/v1/operators/${encodeURIComponent(no)}`, change, key);
      setKey(newIdempotencyKey());
      setAsking(null);
      setPassword(noPasswords);
      onChanged(t(done, { no }));
    } catch (err) {
      setError(err);
      setKey(keyAfter(err, key));
    } finally {
      setBusy(null);
    }
  };

  const saveProfile = (e: Event) => {
    e.preventDefault();
    const change: Change = {
      ...(name.trim() !== operator.name ? { name: name.trim() } : {}),
      ...(role !== operator.role ? { role } : {}),
    };
    if (Object.keys(change).length === 0) return;
    if (promoting) {
      const found = passwordProblem(password);
      setPasswordIssue(found);
      if (found) return;
      change.password = password.first;
    }
    if (change.role && isDemotion(operator.role, change.role)) {
      setAsking({
        change,
        text: t('opDemoteText', {
          no,
          from: t(`role.${operator.role}`),
          to: t(`role.${change.role}`),
        }),
        label: t('opDemoteYes'),
      });
      return;
    }
    void patch(change, 'opSaved');
  };

  return (
    <aside class="panel people-panel" aria-label={t('opDetail', { no })} data-testid="operator-panel">
      <h2>{t('opDetail', { no })}</h2>
      <form class="people-form" onSubmit={saveProfile} data-testid="operator-profile">
        <label>
          {t('opName')}
          <input name="name" value={name} maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {t('opRole')}
          <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {roleList.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </label>
        {promoting ? (
          <>
            <p class="muted" data-testid="promote-hint">
              {t('opPromotePasswordHint', { role: t(`role.${role}`) })}
            </p>
            <PeoplePasswordTwice value={password} onChange={setPassword} problem={passwordIssue} />
          </>
        ) : null}
        <div class="actions">
          <Button
            variant="primary"
            type="submit"
            busy={busy === 'patch' && !asking}
            disabled={name.trim() === '' || (name.trim() === operator.name && role === operator.role)}
            data-testid="operator-save"
          >
            {t('opSave')}
          </Button>
        </div>
      </form>

      <div class="people-row">
        {operator.disabled ? (
          <Button
            busy={busy === 'patch' && !asking}
            data-testid="operator-enable"
            onClick={() => void patch({ disabled: false }, 'opEnabledDone')}
          >
            {t('opEnable')}
          </Button>
        ) : (
          <Button
            variant="danger"
            disabled={self}
            title={self ? t('opNotSelf') : undefined}
            data-testid="operator-disable"
            onClick={() =>
              setAsking({
                change: { disabled: true },
                text: t('opDisableText', { no, name: operator.name }),
                label: t('opDisableYes'),
              })
            }
          >
            {t('opDisable')}
          </Button>
        )}
        {isLocked(operator) ? (
          <Button variant="primary" busy={unlocking} data-testid="panel-unlock" onClick={onUnlock}>
            {t('opUnlock')}
          </Button>
        ) : null}
      </div>
      {asking ? null : <ErrorBox error={error} />}

      <PasswordReset operator={operator} onDone={onChanged} />

      {asking ? (
        <ConfirmDialog
          title={t('admConfirmTitle')}
          text={asking.text}
          confirmLabel={asking.label}
          danger
          busy={busy === 'patch'}
          error={error}
          onConfirm={() => void patch(asking.change, asking.change.disabled ? 'opDisabledDone' : 'opSaved')}
          onCancel={() => {
            setAsking(null);
            setError(null);
          }}
        />
      ) : null}
    </aside>
  );
}

/** 重置密码: typed twice; the operator's sessions end and their locks are lifted by the server. */
function PasswordReset({ operator, onDone }: { operator: OperatorInfo; onDone: (message: string) => void }) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [password, setPassword] = useState<TwoPasswords>({ first: '', second: '' });
  const [problem, setProblem] = useState<MessageKey | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [key, setKey] = useState(newIdempotencyKey);
  const no = operator.operatorNo;

  const submit = async (e: Event) => {
    e.preventDefault();
    const found = passwordProblem(password);
    setProblem(found);
    if (found) return;
    setBusy(true);
    setError(null);
    try {
      await api.post(`/v1/operators/${encodeURIComponent(no)}/password`, { password: password.first }, key);
      setKey(newIdempotencyKey());
      setPassword({ first: '', second: '' });
      onDone(t('pwResetDone', { no }));
    } catch (err) {
      setError(err);
      setKey(keyAfter(err, key));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="people-form" onSubmit={submit} data-testid="password-reset">
      <h3>{t('pwReset')}</h3>
      <p class="muted">{t('pwResetHint')}</p>
      <PeoplePasswordTwice value={password} onChange={setPassword} problem={problem} />
      <ErrorBox error={error} />
      <div class="actions">
        <Button type="submit" busy={busy} data-testid="reset-password">
          {t('pwReset')}
        </Button>
      </div>
    </form>
  );
}
