import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { request, type Session } from '../../shared/api';
import { prefs } from '../app-context';
import { ErrorBox, Keypad, Notice, PadField, typeDigitKey } from '../components/ui';
import { useI18n } from '../i18n';

type Field = 'terminalId' | 'operatorNo' | 'password';
const DEFAULT_TERMINAL = 'T0000001';

/** 签到: terminal id (preset), operator number and password on the keypad; lockouts say the minutes left. */
export function SignInScreen({
  onSignedIn,
  notice,
}: {
  onSignedIn: (s: Session) => void;
  notice?: string | null;
}) {
  const { t } = useI18n();
  const [values, setValues] = useState<Record<Field, string>>({
    terminalId: prefs.get('terminalId') ?? DEFAULT_TERMINAL,
    operatorNo: '',
    password: '',
  });
  const [active, setActive] = useState<Field>('operatorNo');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const refs = useRef<Record<Field, HTMLInputElement | null>>({
    terminalId: null,
    operatorNo: null,
    password: null,
  });

  // Layout effect: the focus is in place before the next key (a scanner does not wait for paint).
  useLayoutEffect(() => {
    refs.current[active]?.focus();
  }, [active]);

  // Focus moves at once, inside the key's own handler: a scanner or a fast typist goes on typing
  // right after Enter, and those keys must land in the next field.
  const moveTo = (f: Field) => {
    refs.current[f]?.focus();
    setActive(f);
  };

  const set = (f: Field, v: string) =>
    setValues((prev) => ({
      ...prev,
      [f]: f === 'password' ? v.slice(0, 64) : v.replace(/[^0-9A-Za-z]/g, '').slice(0, 16),
    }));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const order: Field[] = ['terminalId', 'operatorNo', 'password'];
    const empty = order.find((f) => !values[f]);
    if (empty) {
      moveTo(empty);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const s = await request<Session>('POST', '/v1/sessions', { body: values });
      prefs.set('terminalId', values.terminalId);
      onSignedIn({ ...s, terminalId: s.terminalId ?? values.terminalId });
    } catch (err) {
      setError(err);
      setValues((v) => ({ ...v, password: '' }));
      moveTo('password');
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="signin" onSubmit={submit}>
      <div class="signin-fields">
        <h2>{t('signInTitle')}</h2>
        {notice ? <Notice kind="warn">{notice}</Notice> : null}
        {(['terminalId', 'operatorNo', 'password'] as const).map((f) => (
          <PadField
            key={f}
            name={f}
            label={t(f)}
            value={values[f]}
            password={f === 'password'}
            autoFocus={f === 'operatorNo'}
            active={active === f}
            onFocus={() => setActive(f)}
            onValue={(v) => set(f, v)}
            inputRef={(el) => {
              refs.current[f] = el;
            }}
          />
        ))}
        <ErrorBox error={error} />
      </div>
      <Keypad
        busy={busy}
        okLabel={active === 'password' ? t('signIn') : t('next')}
        onKey={(k) => {
          setError(null);
          setValues((v) => ({ ...v, [active]: typeDigitKey(v[active], k, active === 'password' ? 64 : 16) }));
        }}
      />
    </form>
  );
}
