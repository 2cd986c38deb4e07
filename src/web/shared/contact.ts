/**
 * A consumer's phone and e-mail, checked in the page as the server checks them (src/api/schemas.ts:
 * a phone is `^\+?[0-9]{5,20}$` once the spaces, dashes and brackets people type are taken out; an
 * e-mail is ajv-formats' full `email` format, at most 254 characters), so a typo is caught before
 * anything is sent. One copy for the terminal, the back office and the consumer's pages.
 */
const PHONE = /^\+?[0-9]{5,20}$/;
const EMAIL =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;
export const MAX_EMAIL_LENGTH = 254;

/** The number as it is sent: without the spaces, dashes and brackets typed for readability. */
export const normalPhone = (typed: string): string => typed.replace(/[\s()-]/g, '');

export const isPhone = (typed: string): boolean => PHONE.test(normalPhone(typed));

export function isEmail(typed: string): boolean {
  const email = typed.trim();
  return email.length <= MAX_EMAIL_LENGTH && EMAIL.test(email);
}

/** `badPhone` for a typed number that is not one; nothing typed is not an error here. */
export const phoneError = (typed: string): 'badPhone' | null =>
  normalPhone(typed) && !isPhone(typed) ? 'badPhone' : null;

/** `badEmail` for a typed address that is not one; nothing typed is not an error here. */
export const emailError = (typed: string): 'badEmail' | null =>
  typed.trim() && !isEmail(typed) ? 'badEmail' : null;
