import { useState } from 'preact/hooks';
import type { ReturnInfo } from '../../shared/api';
import { Button, ErrorBox, Facts, Notice } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { useI18n } from '../i18n';
import { useLoad } from './common';
import { Dialog } from './Dialog';
import { EvidencePhotos } from './EvidencePhotos';
import { useAttempt } from './OrderFields';

type Result = 'accepted' | 'rejected';

/** The server keeps at most this much of the note (InspectionBody); the consumer reads it. */
const NOTE_MAX = 200;

/** "2 × 龙井茶 250g, 1 × 青瓷茶杯": a return's lines in one line. */
export const returnItemsText = (r: Pick<ReturnInfo, 'items'>): string =>
  r.items.map((i) => `${i.qty} × ${i.name}`).join(', ');

/**
 * 验货: the returned goods checked against the return's lines — accepted (the refund goes into
 * review, to be approved with the checklist as any refund) or rejected with a note the consumer
 * sees (the refund is rejected). Photos are the refund's evidence, uploaded while it waits.
 * Opened from the returns page and from the review queue.
 */
export function ReturnInspectDialog({
  returnId,
  onClose,
  onDone,
}: {
  returnId: string;
  onClose: () => void;
  /** The inspection is recorded: the return as it now stands. */
  onDone: (inspected: ReturnInfo) => void;
}) {
  const { api, timeZone, go } = useOffice();
  const { t, lang } = useI18n();
  const ret = useLoad(() => api.get<ReturnInfo>(`/v1/returns/${encodeURIComponent(returnId)}`), [returnId]);
  const [result, setResult] = useState<Result>('accepted');
  const [note, setNote] = useState('');
  const [noteMissing, setNoteMissing] = useState(false);
  const [done, setDone] = useState<ReturnInfo | null>(null);
  const attempt = useAttempt();
  const r = done ?? ret.data;

  const submit = async (e: Event) => {
    e.preventDefault();
    const body = { result, ...(note.trim() ? { note: note.trim() } : {}) };
    // The server refuses it too (reason_required), but its words are about a refund's reason.
    if (result === 'rejected' && !body.note) return setNoteMissing(true);
    const answer = await attempt.run(body, (key) =>
      api.post<ReturnInfo>(`/v1/returns/${encodeURIComponent(returnId)}/inspection`, body, key),
    );
    if (answer) {
      setDone(answer);
      onDone(answer);
    }
  };

  return (
    <Dialog
      wide
      title={t('inspectTitle', { orderNo: r?.orderNo ?? '' })}
      testId="inspection-dialog"
      busy={attempt.busy}
      onClose={onClose}
    >
      <ErrorBox error={ret.error} />
      {r ? (
        <Facts
          rows={[
            [t('itemsCol'), returnItemsText(r)],
            [t('returnTotal'), formatFen(r.amount), 'inspection-amount'],
            [t('submittedCol'), formatDateTime(r.submittedAt, timeZone, lang)],
          ]}
        />
      ) : null}
      {done?.inspection ? (
        <div class="order-form" data-testid="inspection-done" data-result={done.inspection.result}>
          <Notice kind={done.inspection.result === 'accepted' ? 'info' : 'warn'}>
            {t(done.inspection.result === 'accepted' ? 'inspectAccepted' : 'inspectRejected')}
          </Notice>
          <div class="actions modal-actions">
            {done.inspection.result === 'accepted' && done.refundId ? (
              <Button
                variant="primary"
                data-testid="inspection-to-queue"
                onClick={() => go(`queue?refund=${encodeURIComponent(done.refundId ?? '')}`)}
              >
                {t('toQueue')}
              </Button>
            ) : null}
            <Button data-testid="dialog-done" onClick={onClose}>
              {t('close')}
            </Button>
          </div>
        </div>
      ) : r?.refundId ? (
        <form class="order-form" onSubmit={submit}>
          <fieldset class="inspection-result">
            <legend>{t('inspectResult')}</legend>
            {(['accepted', 'rejected'] as const).map((value) => (
              <label class="check" key={value}>
                <input
                  type="radio"
                  name="inspectionResult"
                  value={value}
                  checked={result === value}
                  data-testid={value === 'accepted' ? 'inspection-accept' : 'inspection-reject'}
                  onChange={() => setResult(value)}
                />
                {t(value === 'accepted' ? 'inspectAccept' : 'inspectReject')}
              </label>
            ))}
          </fieldset>
          <label>
            {t('inspectNote')}
            <textarea
              name="inspectionNote"
              data-testid="inspection-note"
              rows={2}
              maxLength={NOTE_MAX}
              value={note}
              aria-required={result === 'rejected' ? 'true' : undefined}
              aria-invalid={noteMissing ? 'true' : undefined}
              onInput={(e) => {
                setNoteMissing(false);
                setNote(e.currentTarget.value);
              }}
            />
            <span class="muted">{t('inspectNoteHint')}</span>
          </label>
          {noteMissing ? (
            <Notice kind="warn">
              <span data-testid="inspection-note-missing">{t('inspectNoteRequired')}</span>
            </Notice>
          ) : null}
          <EvidencePhotos refundId={r.refundId} />
          <ErrorBox error={attempt.error} />
          <div class="actions modal-actions">
            <Button onClick={onClose}>{t('cancel')}</Button>
            <Button
              variant={result === 'accepted' ? 'primary' : 'danger'}
              type="submit"
              busy={attempt.busy}
              data-testid="inspection-submit"
            >
              {t('inspectSubmit')}
            </Button>
          </div>
        </form>
      ) : null}
    </Dialog>
  );
}
