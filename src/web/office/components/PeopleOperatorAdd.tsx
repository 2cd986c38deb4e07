import { useState } from 'preact/hooks';
import { newIdempotencyKey, type OperatorInfo } from '../../shared/api';
import { Button, ErrorBox } from '../../shared/components';
import { useOffice } from '../app-context';
import { type MessageKey, useI18n } from '../i18n';
import { keyAfter } from './Dialog';
import { type Role, roleList } from './PeopleModel';
import { PeoplePasswordTwice, passwordProblem } from './PeoplePasswordTwice';

/** The API's rules for a number and a name (src/api/schemas.ts): checked here first, in words. */
const OPERATOR_NO = /^[0-9A-Za-z]{1,16}$/;
const NAME_MAX = 64;

/** 添加操作员: number, name, role and the password typed twice (its length is the server's rule, per role). */
export function PeopleOperatorAdd({
  onAdded,
  onCancel,
}: {
  onAdded: (o: OperatorInfo) => void;
  onCancel: () => void;
}) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [operatorNo, setOperatorNo] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('cashier');
  const [password, setPassword] = useState({ first: '', second: '' });
  const [problems, setProblems] = useState<Partial<Record<'operatorNo' | 'name' | 'password', MessageKey>>>(
    {},
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // One key for this form: a retried click after a lost answer adds the operator once.
  const [key, setKey] = useState(newIdempotencyKey);

  const submit = async (e: Event) => {
    e.preventDefault();
    const found: typeof problems = {};
    if (!OPERATOR_NO.test(operatorNo.trim())) found.operatorNo = 'opNoInvalid';
    if (name.trim() === '' || name.trim().length > NAME_MAX) found.name = 'opNameInvalid';
    const pw = passwordProblem(password);
    if (pw) found.password = pw;
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    setError(null);
    try {
      const o = await api.post<OperatorInfo>(
        '/v1/operators',
        { operatorNo: operatorNo.trim(), name: name.trim(), role, password: password.first },
        key,
      );
      onAdded(o);
    } catch (err) {
      setError(err);
      setKey(keyAfter(err, key));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel people-panel" onSubmit={submit} aria-label={t('opAdd')} data-testid="operator-new">
      <h2>{t('opAdd')}</h2>
      <label>
        {t('operatorNo')}
        <input
          name="newOperatorNo"
          value={operatorNo}
          maxLength={16}
          autoComplete="off"
          aria-invalid={problems.operatorNo ? 'true' : undefined}
          onInput={(e) => setOperatorNo(e.currentTarget.value)}
        />
        {problems.operatorNo ? <span class="field-error">{t(problems.operatorNo)}</span> : null}
      </label>
      <label>
        {t('opName')}
        <input
          name="newName"
          value={name}
          maxLength={NAME_MAX}
          aria-invalid={problems.name ? 'true' : undefined}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        {problems.name ? <span class="field-error">{t(problems.name)}</span> : null}
      </label>
      <label>
        {t('opRole')}
        <select name="newRole" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
          {roleList.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <PeoplePasswordTwice value={password} onChange={setPassword} problem={problems.password ?? null} />
      <ErrorBox error={error} />
      <div class="actions">
        <Button onClick={onCancel}>{t('cancel')}</Button>
        <Button variant="primary" type="submit" busy={busy} data-testid="operator-create">
          {t('opCreate')}
        </Button>
      </div>
    </form>
  );
}
