import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Approval } from '../../shared/api';
import { prefs } from '../app-context';
import { useI18n } from '../i18n';
import { Keypad, Notice, PadField, typeDigitKey } from './ui';

/**
 * The supervisor's refund password (退款密码) on the keypad: one supervisor, or two different
 * ones at the large-refund threshold (双人核对). The last supervisor's number is remembered on
 * this terminal so usually only the password is typed. `onApprove` answers true when the
 * approvals were refused and must be typed again (passwords are then cleared).
 */
export function SupervisorPad({
  count,
  onApprove,
  busy,
  children,
  okLabel,
}: {
  count: 1 | 2;
  onApprove: (approvals: Approval[]) => Promise<boolean>;
  busy: boolean;
  children?: ComponentChildren;
  okLabel?: string;
}) {
  const { t } = useI18n();
  const remembered = prefs.get('lastSupervisor') ?? '';
  const [index, setIndex] = useState<0 | 1>(0);
  const [nos, setNos] = useState<[string, string]>([remembered, '']);
  const [pws, setPws] = useState<[string, string]>(['', '']);
  const [active, setActive] = useState<'no' | 'pw'>(remembered ? 'pw' : 'no');
  const [problem, setProblem] = useState<'different' | 'both' | null>(null);
  const noRef = useRef<HTMLInputElement | null>(null);
  const pwRef = useRef<HTMLInputElement | null>(null);

  // Layout effect: the focus is in place before the next key (a scanner does not wait for paint).
  useLayoutEffect(() => {
    (active === 'no' ? noRef : pwRef).current?.focus();
  }, [active, index]);

  // Focus moves inside the key's handler, so keys typed right after Enter land in the next field.
  const moveTo = (f: 'no' | 'pw') => {
    (f === 'no' ? noRef : pwRef).current?.focus();
    setActive(f);
  };

  const setAt = (pair: [string, string], v: string): [string, string] =>
    index === 0 ? [v, pair[1]] : [pair[0], v];
  const setNo = (v: string) => setNos((p) => setAt(p, v.replace(/[^0-9A-Za-z]/g, '').slice(0, 16)));
  const setPw = (v: string) => setPws((p) => setAt(p, v.slice(0, 64)));

  const press = (key: string) => {
    setProblem(null);
    if (active === 'no') setNos((p) => setAt(p, typeDigitKey(p[index], key, 16)));
    else setPws((p) => setAt(p, typeDigitKey(p[index], key, 64)));
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const no = nos[index];
    const pw = pws[index];
    if (!no) {
      moveTo('no');
      return;
    }
    if (!pw) {
      if (active === 'no') moveTo('pw');
      else setProblem('both');
      return;
    }
    if (index === 1 && no === nos[0]) {
      setProblem('different');
      setNos([nos[0], '']);
      setPws([pws[0], '']);
      setActive('no');
      return;
    }
    if (index === 0 && count === 2) {
      setIndex(1);
      setActive('no');
      return;
    }
    const approvals: Approval[] = [{ operatorNo: nos[0], password: pws[0] }];
    if (count === 2) approvals.push({ operatorNo: nos[1], password: pws[1] });
    const retry = await onApprove(approvals);
    if (retry) {
      setPws(['', '']);
      setIndex(0);
      setActive(nos[0] ? 'pw' : 'no');
    } else {
      prefs.set('lastSupervisor', nos[0]);
    }
  };

  return (
    <form class="supervisor" onSubmit={submit} data-testid="supervisor-pad">
      <div class="supervisor-fields">
        <h2>{t('approveTitle')}</h2>
        {count === 2 ? (
          <div class="supervisor-n" data-testid="supervisor-n">
            {t('supervisorN', { n: index + 1, of: 2 })}
          </div>
        ) : null}
        <PadField
          key={`no-${index}`}
          name="supervisorNo"
          label={t('supervisorNo')}
          value={nos[index]}
          onValue={setNo}
          active={active === 'no'}
          onFocus={() => setActive('no')}
          inputRef={(el) => {
            noRef.current = el;
          }}
        />
        <PadField
          key={`pw-${index}`}
          name="supervisorPassword"
          label={t('refundPassword')}
          value={pws[index]}
          onValue={setPw}
          password
          active={active === 'pw'}
          onFocus={() => setActive('pw')}
          inputRef={(el) => {
            pwRef.current = el;
          }}
        />
        {problem === 'different' ? <Notice kind="warn">{t('needDifferent')}</Notice> : null}
        {problem === 'both' ? <Notice kind="warn">{t('fillBoth')}</Notice> : null}
        {children}
      </div>
      <Keypad
        onKey={press}
        busy={busy}
        okLabel={
          active === 'no' ? t('next') : index === 0 && count === 2 ? t('next') : (okLabel ?? t('approve'))
        }
      />
    </form>
  );
}
