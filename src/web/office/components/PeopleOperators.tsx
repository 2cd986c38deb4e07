import { useState } from 'preact/hooks';
import type { OperatorInfo } from '../../shared/api';
import { Button, ErrorBox, Notice } from '../../shared/components';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { CsvButton, useLoad } from '../components/common';
import { useI18n } from '../i18n';
import { isLocked } from './PeopleModel';
import { PeopleOperatorAdd } from './PeopleOperatorAdd';
import { PeopleOperatorPanel } from './PeopleOperatorPanel';

/**
 * The merchant's operators with their role, whether they are disabled and the locks in force;
 * a locked one is unlocked from its row, any one is opened in the panel beside the list (rename,
 * role, disable or enable, password), and "add" opens the form for a new one.
 */
export function PeopleOperators() {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const list = useLoad(() => api.get<{ data: OperatorInfo[] }>('/v1/operators'), []);
  const [selected, setSelected] = useState<string | 'new' | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const operators = list.data?.data ?? [];
  const current = operators.find((o) => o.operatorNo === selected) ?? null;

  const unlock = async (no: string) => {
    setBusy(no);
    setError(null);
    setNotice(null);
    try {
      await api.post(`/v1/operators/${encodeURIComponent(no)}/unlock`, {});
      setNotice(t('opUnlocked', { no }));
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const changed = (message: string, no?: string) => {
    setNotice(message);
    if (no) setSelected(no);
    list.reload();
  };

  return (
    <section class="people-ops" aria-labelledby="people-ops-title">
      <div class="section-head">
        <h2 id="people-ops-title">{t('operatorsTitle')}</h2>
        <div class="actions">
          <CsvButton path="/v1/exports/operators.csv" filename="operators.csv" />
          <Button variant="primary" data-testid="operator-add" onClick={() => setSelected('new')}>
            {t('opAdd')}
          </Button>
        </div>
      </div>
      {notice ? (
        <Notice>
          <span data-testid="people-notice">{notice}</span>
        </Notice>
      ) : null}
      <ErrorBox error={list.error ?? error} />
      <div class={selected ? 'split' : undefined}>
        <table class="grid" data-testid="operators">
          <thead>
            <tr>
              <th>{t('operatorNo')}</th>
              <th>{t('opName')}</th>
              <th>{t('opRole')}</th>
              <th>{t('statusCol')}</th>
              <th>{t('actions')}</th>
            </tr>
          </thead>
          <tbody>
            {operators.map((o) => (
              <tr
                key={o.operatorNo}
                data-operator={o.operatorNo}
                class={o.operatorNo === selected ? 'on' : undefined}
                tabIndex={0}
                onClick={() => setSelected(o.operatorNo)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && e.target === e.currentTarget) setSelected(o.operatorNo);
                }}
              >
                <td>{o.operatorNo}</td>
                <td>{o.name}</td>
                <td>{t(`role.${o.role}`)}</td>
                <td data-testid="operator-state">
                  {o.disabled ? (
                    <span class="badge badge-failed">{t('opDisabled')}</span>
                  ) : (
                    <span class="badge badge-succeeded">{t('opEnabled')}</span>
                  )}
                  {o.signInLockedUntil ? (
                    <span class="badge badge-requested lock" data-testid="sign-in-locked">
                      {t('opSignInLocked', { time: formatDateTime(o.signInLockedUntil, timeZone, lang) })}
                    </span>
                  ) : null}
                  {o.approvalLockedUntil ? (
                    <span class="badge badge-requested lock" data-testid="approval-locked">
                      {t('opApprovalLocked', {
                        time: formatDateTime(o.approvalLockedUntil, timeZone, lang),
                      })}
                    </span>
                  ) : null}
                </td>
                <td>
                  {isLocked(o) ? (
                    <Button
                      variant="primary"
                      busy={busy === o.operatorNo}
                      data-testid="unlock"
                      onClick={(e: Event) => {
                        e.stopPropagation();
                        void unlock(o.operatorNo);
                      }}
                    >
                      {t('opUnlock')}
                    </Button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {selected === 'new' ? (
          <PeopleOperatorAdd
            onAdded={(o) => changed(t('opAdded', { no: o.operatorNo }), o.operatorNo)}
            onCancel={() => setSelected(null)}
          />
        ) : current ? (
          <PeopleOperatorPanel
            key={current.operatorNo}
            operator={current}
            onChanged={(message) => changed(message)}
            onUnlock={() => void unlock(current.operatorNo)}
            unlocking={busy === current.operatorNo}
          />
        ) : null}
      </div>
    </section>
  );
}
