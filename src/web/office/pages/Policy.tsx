import { useEffect, useState } from 'preact/hooks';
import { newIdempotencyKey, type Policy } from '../../shared/api';
import { Button, ErrorBox, Notice } from '../../shared/components';
import { useOffice } from '../app-context';
import { PageHead, useLoad } from '../components/common';
import { keyAfter } from '../components/Dialog';
import { PolicyChangeList } from '../components/PolicyChangeList';
import { PolicyFields } from '../components/PolicyFields';
import {
  type Change,
  changedSettings,
  describeChanges,
  type FieldErrors,
  fromDraft,
  type PolicyDraft,
  toDraft,
} from '../components/PolicyModel';
import { useI18n } from '../i18n';

type Step =
  | { at: 'edit' }
  | { at: 'preview'; changes: Change[]; body: Partial<Policy>; key: string }
  | { at: 'saved'; changes: Change[] };

/**
 * 退款规则: every setting of the merchant's policy (PRODUCT.md §4) and the risk rules. Admins
 * edit; "preview" checks every field against the API's limits and lists only what changes, before
 * → after in words; "save" sends just those settings (PUT /v1/policy, audited) and points to the
 * audit entry. The terminal reads the policy at sign-in and on every refund, so it applies at
 * once. Supervisors see the same page read-only (policy.write is the admin's).
 */
export function PolicyPage() {
  const { api, role, go } = useOffice();
  const { t, lang } = useI18n();
  const loaded = useLoad(() => api.get<Policy>('/v1/policy'), []);
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [draft, setDraft] = useState<PolicyDraft | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [step, setStep] = useState<Step>({ at: 'edit' });
  const [nothing, setNothing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const readOnly = role !== 'admin';

  useEffect(() => {
    if (loaded.data) {
      setPolicy(loaded.data);
      setDraft(toDraft(loaded.data));
    }
  }, [loaded.data]);

  const edit = (d: PolicyDraft) => {
    setDraft(d);
    setNothing(false);
    if (step.at === 'saved') setStep({ at: 'edit' });
  };

  const preview = () => {
    if (!policy || !draft) return;
    const parsed = fromDraft(draft, policy);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      // The first wrong field, in the page's order, gets the focus.
      requestAnimationFrame(() =>
        document.querySelector<HTMLInputElement>('.policy-field.invalid input')?.focus(),
      );
      return;
    }
    setErrors({});
    const body = changedSettings(policy, parsed.policy);
    const changes = describeChanges(policy, parsed.policy, t, lang);
    if (changes.length === 0) {
      setNothing(true);
      return;
    }
    setError(null);
    setStep({ at: 'preview', changes, body, key: newIdempotencyKey() });
  };

  const save = async () => {
    if (step.at !== 'preview') return;
    setBusy(true);
    setError(null);
    try {
      const saved = await api.put<Policy>('/v1/policy', step.body, step.key);
      setPolicy(saved);
      setDraft(toDraft(saved));
      setStep({ at: 'saved', changes: step.changes });
    } catch (err) {
      setError(err);
      setStep({ ...step, key: keyAfter(err, step.key) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="policy">
      <PageHead title={t('nav.policy')}>
        {readOnly ? null : (
          <>
            <Button
              disabled={!policy || step.at === 'preview'}
              data-testid="policy-reset"
              onClick={() => {
                if (policy) setDraft(toDraft(policy));
                setErrors({});
                setNothing(false);
              }}
            >
              {t('polDiscard')}
            </Button>
            <Button
              variant="primary"
              disabled={!draft || step.at === 'preview'}
              data-testid="policy-preview"
              onClick={preview}
            >
              {t('polPreview')}
            </Button>
          </>
        )}
      </PageHead>
      {readOnly ? <Notice kind="warn">{t('polReadOnly')}</Notice> : null}
      <ErrorBox error={loaded.error} />
      {Object.keys(errors).length > 0 ? (
        <p class="field-error" role="alert" data-testid="policy-invalid">
          {t('polFixFields', { n: Object.keys(errors).length })}
        </p>
      ) : null}
      {nothing ? <Notice>{t('polNoChanges')}</Notice> : null}

      {step.at === 'preview' ? (
        <section class="panel policy-preview" aria-labelledby="policy-preview-title">
          <h2 id="policy-preview-title">{t('polPreviewTitle')}</h2>
          <PolicyChangeList changes={step.changes} />
          <ErrorBox error={error} />
          <div class="actions">
            <Button data-testid="policy-edit" onClick={() => setStep({ at: 'edit' })}>
              {t('polBackToEdit')}
            </Button>
            <Button variant="primary" busy={busy} data-testid="policy-save" onClick={() => void save()}>
              {t('polSave', { n: step.changes.length })}
            </Button>
          </div>
        </section>
      ) : null}

      {step.at === 'saved' ? (
        <Notice>
          <span data-testid="policy-saved">{t('polSaved', { n: step.changes.length })}</span>{' '}
          <a
            href="/office/audit?action=policy.changed"
            class="link-btn"
            data-testid="policy-audit-link"
            onClick={(e) => {
              e.preventDefault();
              go('audit?action=policy.changed');
            }}
          >
            {t('polSeeAudit')}
          </a>
        </Notice>
      ) : null}

      {draft ? (
        <PolicyFields
          draft={draft}
          errors={errors}
          readOnly={readOnly || step.at === 'preview'}
          onChange={edit}
        />
      ) : loaded.loading ? (
        <p class="muted">{t('loading')}</p>
      ) : null}
    </section>
  );
}
