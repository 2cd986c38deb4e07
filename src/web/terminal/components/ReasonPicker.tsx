import { useState } from 'preact/hooks';
import { type Reason, type ReasonCode, reasonCodes } from '../../shared/api';
import { useApp } from '../app-context';
import { useI18n } from '../i18n';
import { Button, Notice } from './ui';

/** The six reasons of PRODUCT.md §3 (those the policy has in use); "other" asks for a note. */
export function ReasonPicker({ onPick }: { onPick: (reason: Reason) => void }) {
  const { policy } = useApp();
  const { t } = useI18n();
  const [other, setOther] = useState(false);
  const [note, setNote] = useState('');
  const [missing, setMissing] = useState(false);
  const inUse: readonly ReasonCode[] = policy?.reasons ?? reasonCodes;

  const pick = (code: ReasonCode) => {
    if (code === 'other') {
      setOther(true);
      return;
    }
    onPick({ code });
  };

  const submitOther = (e: Event) => {
    e.preventDefault();
    const text = note.trim();
    if (!text) {
      setMissing(true);
      return;
    }
    onPick({ code: 'other', note: text.slice(0, 200) });
  };

  return (
    <div class="reasons">
      <h2>{t('chooseReason')}</h2>
      <div class="reason-grid">
        {reasonCodes.map((code) => (
          <Button
            key={code}
            variant="tile"
            class={other && code === 'other' ? 'selected' : ''}
            data-reason={code}
            disabled={!inUse.includes(code)}
            onClick={() => pick(code)}
          >
            {t(`reason.${code}`)}
          </Button>
        ))}
      </div>
      {other ? (
        <form class="other-note" onSubmit={submitOther}>
          <label>
            <span>{t('otherNote')}</span>
            <input
              name="note"
              maxLength={200}
              autoComplete="off"
              // biome-ignore lint/a11y/noAutofocus: the note is the only thing left to do on this step
              autoFocus
              value={note}
              onInput={(e) => {
                setMissing(false);
                setNote((e.currentTarget as HTMLInputElement).value);
              }}
            />
          </label>
          <Button type="submit" variant="primary">
            {t('next')}
          </Button>
          {missing ? <Notice kind="warn">{t('otherNoteRequired')}</Notice> : null}
        </form>
      ) : null}
    </div>
  );
}
