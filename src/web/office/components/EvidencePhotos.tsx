import { useEffect, useState } from 'preact/hooks';
import { ApiError, newIdempotencyKey } from '../../shared/api';
import { ErrorBox } from '../../shared/components';
import { useOffice } from '../app-context';
import { useI18n } from '../i18n';
import { useLoad } from './common';

const EVIDENCE_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const EVIDENCE_MAX_BYTES = 2 * 1024 * 1024;

type EvidenceInfo = { id: string; contentType: string; bytes: number };

/**
 * A refund's evidence photos (the review queue's checklist, the inspection of returned goods):
 * each uploaded as it is picked, checked here for type and size first (the server checks the bytes
 * again, and takes photos only while the refund is requested or under review).
 */
export function EvidencePhotos({ refundId }: { refundId: string }) {
  const { t } = useI18n();
  const { api, session } = useOffice();
  const list = useLoad(
    () => api.get<{ data: EvidenceInfo[] }>(`/v1/refunds/${encodeURIComponent(refundId)}/evidence`),
    [refundId],
  );
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const upload = async (file: File) => {
    setError(null);
    if (!EVIDENCE_TYPES.includes(file.type)) {
      setError(new ApiError({ status: 415, code: 'evidence_type_unsupported' }));
      return;
    }
    if (file.size > EVIDENCE_MAX_BYTES) {
      setError(new ApiError({ status: 413, code: 'evidence_too_large' }));
      return;
    }
    setBusy(true);
    try {
      const res = await fetch(`/v1/refunds/${encodeURIComponent(refundId)}/evidence`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${session.token}`,
          'content-type': file.type,
          'idempotency-key': newIdempotencyKey(),
        },
        body: file,
      });
      if (!res.ok) {
        const p = (await res.json().catch(() => null)) as { code?: string } | null;
        throw new ApiError({ status: res.status, code: p?.code ?? 'internal_error', ...p });
      }
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset class="evidence">
      <legend>{t('evidence')}</legend>
      <p class="muted">{t('evidenceHint')}</p>
      <ul class="thumbs" data-testid="evidence-list">
        {(list.data?.data ?? []).map((e) => (
          <li key={e.id}>
            <EvidenceThumb refundId={refundId} evidence={e} />
          </li>
        ))}
      </ul>
      <label class="btn btn-secondary file">
        {busy ? t('working') : t('addPhoto')}
        <input
          type="file"
          accept={EVIDENCE_TYPES.join(',')}
          name="evidence"
          disabled={busy}
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (file) void upload(file);
          }}
        />
      </label>
      <ErrorBox error={error} />
    </fieldset>
  );
}

/** A photo fetched with the session's token (an <img src> cannot send it) and shown from a blob. */
function EvidenceThumb({ refundId, evidence }: { refundId: string; evidence: EvidenceInfo }) {
  const { session } = useOffice();
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let objectUrl: string | null = null;
    void fetch(`/v1/refunds/${encodeURIComponent(refundId)}/evidence/${encodeURIComponent(evidence.id)}`, {
      headers: { authorization: `Bearer ${session.token}` },
    })
      .then((r) => (r.ok ? r.blob() : null))
      .then((b) => {
        if (b) {
          objectUrl = URL.createObjectURL(b);
          setUrl(objectUrl);
        }
      });
    return () => {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [refundId, evidence.id, session.token]);
  return url ? <img src={url} alt="" width={96} height={96} /> : <span class="thumb-wait" />;
}
