import { useCallback, useEffect, useState } from 'preact/hooks';
import { newIdempotencyKey, type OperatorInfo } from '../../shared/api';
import { useApp } from '../app-context';
import { Button, ErrorBox, Notice, useEscape } from '../components/ui';
import { useI18n } from '../i18n';

/** "10:42" for a lock's end; locks last minutes, so the day is the day the admin is looking at. */
function clock(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/**
 * 操作员管理 (admin only): the merchant's operators with the locks in force, and 解除锁定 for each
 * locked one — the "ask an admin to unlock it" that the lock message promises. Audited by the API.
 */
export function OperatorsScreen() {
  const { api, go } = useApp();
  const { t } = useI18n();
  const [operators, setOperators] = useState<OperatorInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [unlocked, setUnlocked] = useState<string | null>(null);
  useEscape(() => go({ name: 'home' }));

  const load = useCallback(async () => {
    try {
      setOperators((await api.get<{ data: OperatorInfo[] }>('/v1/operators')).data);
    } catch (err) {
      setError(err);
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  const unlock = async (no: string) => {
    setBusy(no);
    setError(null);
    setUnlocked(null);
    try {
      await api.post(`/v1/operators/${encodeURIComponent(no)}/unlock`, {}, newIdempotencyKey());
      setUnlocked(no);
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="flow">
      <h2>{t('opsTitle')}</h2>
      <p>{t('opsExplain')}</p>
      {unlocked ? <Notice>{t('opsUnlocked', { no: unlocked })}</Notice> : null}
      <ErrorBox error={error} />
      {operators ? (
        <table class="totals ops-table" data-testid="operators">
          <thead>
            <tr>
              <th>{t('operatorNo')}</th>
              <th>{t('opsName')}</th>
              <th>{t('opsRole')}</th>
              <th>{t('opsStatus')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {operators.map((o) => {
              const locked = o.signInLockedUntil !== null || o.approvalLockedUntil !== null;
              return (
                <tr key={o.operatorNo} data-operator={o.operatorNo}>
                  <td>{o.operatorNo}</td>
                  <td>{o.name}</td>
                  <td>{t(`role.${o.role}`)}</td>
                  <td data-testid="lock-status">
                    {locked ? (
                      <span class="ops-locked">
                        {[
                          o.signInLockedUntil
                            ? t('opsSignInLocked', { time: clock(o.signInLockedUntil) })
                            : null,
                          o.approvalLockedUntil
                            ? t('opsApprovalLocked', { time: clock(o.approvalLockedUntil) })
                            : null,
                        ]
                          .filter(Boolean)
                          .join(' · ')}
                      </span>
                    ) : (
                      t('opsFree')
                    )}
                  </td>
                  <td>
                    {locked ? (
                      <Button
                        variant="primary"
                        busy={busy === o.operatorNo}
                        data-testid={`unlock-${o.operatorNo}`}
                        onClick={() => void unlock(o.operatorNo)}
                      >
                        {t('opsUnlock')}
                      </Button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : error ? null : (
        <p>{t('loading')}</p>
      )}
      <div class="actions">
        <Button onClick={() => go({ name: 'home' })}>{t('back')}</Button>
      </div>
    </div>
  );
}
