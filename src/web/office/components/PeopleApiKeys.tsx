import { useState } from 'preact/hooks';
import { type ApiKeyCreated, type ApiKeyInfo, newIdempotencyKey } from '../../shared/api';
import { Button, ErrorBox, Notice } from '../../shared/components';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { useLoad } from '../components/common';
import { type MessageKey, useI18n } from '../i18n';
import { ConfirmDialog, Dialog, keyAfter } from './Dialog';

/** The API's limits on a key (ApiKeyBody in src/api/schemas.ts). */
const NAME_MAX = 64;
const EXPIRY_MAX_DAYS = 3650;

/**
 * API keys of the merchant's systems: listed without their secret; a new key's secret is shown
 * once, in a dialog with a copy button (only its hash is kept); revoking asks first.
 */
export function PeopleApiKeys() {
  const { api, timeZone } = useOffice();
  const { t, lang } = useI18n();
  const list = useLoad(() => api.get<{ data: ApiKeyInfo[] }>('/v1/api-keys'), []);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const revoke = async (k: ApiKeyInfo) => {
    setBusy(true);
    setError(null);
    try {
      await api.del(`/v1/api-keys/${encodeURIComponent(k.id)}`);
      setRevoking(null);
      setNotice(t('keyRevoked', { name: k.name }));
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const state = (k: ApiKeyInfo): { key: MessageKey; cls: string } =>
    k.revokedAt
      ? { key: 'keyStateRevoked', cls: 'badge-failed' }
      : k.expiresAt && Date.parse(k.expiresAt) <= Date.now()
        ? { key: 'keyStateExpired', cls: 'badge-voided' }
        : { key: 'keyStateActive', cls: 'badge-succeeded' };

  return (
    <section class="people-keys" aria-labelledby="people-keys-title">
      <div class="section-head">
        <h2 id="people-keys-title">{t('keysTitle')}</h2>
      </div>
      <p class="muted">{t('keysHint')}</p>
      {notice ? (
        <Notice>
          <span data-testid="keys-notice">{notice}</span>
        </Notice>
      ) : null}
      <ErrorBox error={list.error} />
      <NewKey
        onCreated={(k) => {
          setCreated(k);
          setNotice(null);
          list.reload();
        }}
      />
      {list.data && list.data.data.length === 0 ? <p class="empty">{t('keysEmpty')}</p> : null}
      {list.data && list.data.data.length > 0 ? (
        <table class="grid static" data-testid="api-keys">
          <thead>
            <tr>
              <th>{t('keyName')}</th>
              <th>{t('keyCreated')}</th>
              <th>{t('keyExpires')}</th>
              <th>{t('keyLastUsed')}</th>
              <th>{t('statusCol')}</th>
              <th>{t('actions')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((k) => {
              const s = state(k);
              return (
                <tr key={k.id} data-api-key={k.id}>
                  <td>{k.name}</td>
                  <td>{formatDateTime(k.createdAt, timeZone, lang)}</td>
                  <td>{k.expiresAt ? formatDateTime(k.expiresAt, timeZone, lang) : t('keyNoExpiry')}</td>
                  <td>{formatDateTime(k.lastUsedAt, timeZone, lang)}</td>
                  <td>
                    <span class={`badge ${s.cls}`}>{t(s.key)}</span>
                  </td>
                  <td>
                    {k.revokedAt ? null : (
                      <Button variant="danger" data-testid="revoke-key" onClick={() => setRevoking(k)}>
                        {t('keyRevoke')}
                      </Button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {created ? <SecretOnce created={created} onClose={() => setCreated(null)} /> : null}
      {revoking ? (
        <ConfirmDialog
          title={t('admConfirmTitle')}
          text={t('keyRevokeText', { name: revoking.name })}
          confirmLabel={t('keyRevoke')}
          danger
          busy={busy}
          error={error}
          onConfirm={() => void revoke(revoking)}
          onCancel={() => {
            setRevoking(null);
            setError(null);
          }}
        />
      ) : null}
    </section>
  );
}

function NewKey({ onCreated }: { onCreated: (k: ApiKeyCreated) => void }) {
  const { api } = useOffice();
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [problem, setProblem] = useState<{ field: 'name' | 'days'; key: MessageKey } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [key, setKey] = useState(newIdempotencyKey);

  const submit = async (e: Event) => {
    e.preventDefault();
    const n = name.trim();
    const d = days.trim();
    if (n === '' || n.length > NAME_MAX) return setProblem({ field: 'name', key: 'keyNameInvalid' });
    const expiresInDays = d === '' ? undefined : Number(d);
    if (
      expiresInDays !== undefined &&
      (!/^[0-9]{1,4}$/.test(d) || expiresInDays < 1 || expiresInDays > EXPIRY_MAX_DAYS)
    )
      return setProblem({ field: 'days', key: 'keyDaysInvalid' });
    setProblem(null);
    setBusy(true);
    setError(null);
    try {
      const created = await api.post<ApiKeyCreated>(
        '/v1/api-keys',
        { name: n, ...(expiresInDays !== undefined ? { expiresInDays } : {}) },
        key,
      );
      setKey(newIdempotencyKey());
      setName('');
      setDays('');
      onCreated(created);
    } catch (err) {
      setError(err);
      setKey(keyAfter(err, key));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="filters people-newkey" onSubmit={submit} data-testid="api-key-new">
      <label>
        {t('keyName')}
        <input
          name="keyName"
          value={name}
          maxLength={NAME_MAX}
          placeholder={t('keyNameExample')}
          aria-invalid={problem?.field === 'name' ? 'true' : undefined}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        {problem?.field === 'name' ? <span class="field-error">{t(problem.key)}</span> : null}
      </label>
      <label>
        {t('keyDays')}
        <input
          name="expiresInDays"
          value={days}
          inputMode="numeric"
          maxLength={4}
          placeholder={t('keyNoExpiry')}
          aria-invalid={problem?.field === 'days' ? 'true' : undefined}
          onInput={(e) => setDays(e.currentTarget.value)}
        />
        {problem?.field === 'days' ? <span class="field-error">{t(problem.key)}</span> : null}
      </label>
      <Button variant="primary" type="submit" busy={busy} data-testid="api-key-create">
        {t('keyCreate')}
      </Button>
      <ErrorBox error={error} />
    </form>
  );
}

/** The new key's secret, once: copy it now, it cannot be shown again. */
function SecretOnce({ created, onClose }: { created: ApiKeyCreated; onClose: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      // No clipboard (an http page, a refused permission): the text is selected for Ctrl+C instead.
      (document.getElementById('api-key-secret') as HTMLInputElement | null)?.select();
      setCopied(false);
    }
  };
  return (
    <Dialog title={t('keySecretTitle', { name: created.name })} onClose={onClose} testId="api-key-dialog">
      <Notice kind="warn">{t('keySecretWarning')}</Notice>
      <input
        id="api-key-secret"
        class="secret"
        data-testid="api-key-secret"
        readOnly
        value={created.key}
        onFocus={(e) => e.currentTarget.select()}
      />
      {copied === true ? <p class="muted">{t('keyCopied')}</p> : null}
      {copied === false ? <p class="muted">{t('keyCopyByHand')}</p> : null}
      <div class="actions modal-actions">
        <Button onClick={() => void copy()} data-testid="copy-key">
          {t('keyCopy')}
        </Button>
        <Button variant="primary" onClick={onClose} data-testid="key-saved">
          {t('keySaved')}
        </Button>
      </div>
    </Dialog>
  );
}
