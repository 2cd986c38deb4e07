import type { ReasonCode } from '../shared/api';
import { emailError, normalPhone, phoneError } from '../shared/contact';

/**
 * The return form's checks, the same as the server's (src/api/schemas.ts `ReturnSubmitBody`), so the
 * consumer hears of a typo before sending: phone and e-mail as everywhere (shared/contact.ts); a
 * note at most 200; "other" needs a note (`reason_required`); at least one contact.
 */
export const MAX_NOTE_LENGTH = 200;

export interface ReturnDraft {
  reason: ReasonCode | null;
  note: string;
  phone: string;
  email: string;
}

export type DraftError = 'needReason' | 'needNote' | 'needContact' | 'badPhone' | 'badEmail';

export interface ReturnBody {
  reason: { code: ReasonCode; note?: string };
  contact: { phone?: string; email?: string };
}

/** The body to send, or every reason it cannot be sent yet (field by field). */
export function checkDraft(
  d: ReturnDraft,
): { ok: true; body: ReturnBody } | { ok: false; errors: Partial<Record<keyof ReturnDraft, DraftError>> } {
  const errors: Partial<Record<keyof ReturnDraft, DraftError>> = {};
  const note = d.note.trim().slice(0, MAX_NOTE_LENGTH);
  const phone = normalPhone(d.phone);
  const email = d.email.trim();
  if (!d.reason) errors.reason = 'needReason';
  else if (d.reason === 'other' && !note) errors.note = 'needNote';
  const badPhone = phoneError(d.phone);
  const badEmail = emailError(d.email);
  if (badPhone) errors.phone = badPhone;
  if (badEmail) errors.email = badEmail;
  if (!phone && !email) errors.phone = 'needContact';
  if (!d.reason || Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    body: {
      reason: { code: d.reason, ...(note ? { note } : {}) },
      contact: { ...(phone ? { phone } : {}), ...(email ? { email } : {}) },
    },
  };
}
