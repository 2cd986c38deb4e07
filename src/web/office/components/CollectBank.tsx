import { useState } from 'preact/hooks';
import { type MessageKey, useI18n } from '../i18n';

/*
 * Bank details typed twice (seed 004: a refund to the wrong account cannot happen). The second
 * field takes no paste, so it is typed from what the consumer says, not copied from the first.
 * Compared as the API compares them (service/consumer.ts): the account without spaces, the name
 * in Unicode NFC with spaces folded.
 */

export const accountDigits = (a: string): string => a.replace(/\s+/g, '');
export const holderName = (n: string): string => n.normalize('NFC').trim().replace(/\s+/g, ' ');

/** 8–32 digits, in groups separated by spaces if the consumer reads it so. */
export const ACCOUNT = /^[0-9]{8,32}$/;

export interface BankDetails {
  bankAccount: string;
  bankAccountConfirm: string;
  name: string;
  nameConfirm: string;
}

export const emptyBank: BankDetails = { bankAccount: '', bankAccountConfirm: '', name: '', nameConfirm: '' };

type Pair = 'bankAccount' | 'name';
const same: Record<Pair, (a: string, b: string) => boolean> = {
  bankAccount: (a, b) => accountDigits(a) === accountDigits(b),
  name: (a, b) => holderName(a) === holderName(b),
};
const prefix: Record<Pair, (typed: string, first: string) => boolean> = {
  bankAccount: (typed, first) => accountDigits(first).startsWith(accountDigits(typed)),
  name: (typed, first) => holderName(first).startsWith(holderName(typed)),
};

/** The first thing wrong with the details, as words; null when they can be sent. */
export function bankProblem(b: BankDetails): MessageKey | null {
  if (!ACCOUNT.test(accountDigits(b.bankAccount))) return 'badAccount';
  if (!same.bankAccount(b.bankAccount, b.bankAccountConfirm)) return 'accountMismatch';
  if (holderName(b.name) === '') return 'holderMissing';
  if (!same.name(b.name, b.nameConfirm)) return 'nameMismatch';
  return null;
}

/**
 * A mismatch is shown at once: as soon as the second entry stops being the start of the first,
 * and when the second field is left different.
 */
function mismatch(pair: Pair, b: BankDetails, left: boolean): boolean {
  const first = b[pair];
  const second = b[pair === 'bankAccount' ? 'bankAccountConfirm' : 'nameConfirm'];
  if (second.trim() === '') return false;
  if (same[pair](first, second)) return false;
  return left || !prefix[pair](second, first);
}

export function CollectBankFields({
  value,
  onChange,
  checked,
}: {
  value: BankDetails;
  onChange: (b: BankDetails) => void;
  /** After "next": every difference is shown, also of fields not yet left. */
  checked: boolean;
}) {
  const { t } = useI18n();
  const [left, setLeft] = useState<Record<Pair, boolean>>({ bankAccount: false, name: false });
  const input = (
    key: keyof BankDetails,
    label: MessageKey,
    opts: { confirm?: Pair; numeric?: boolean; max: number },
  ) => (
    <label>
      {t(label)}
      <input
        name={key}
        data-testid={key}
        value={value[key]}
        maxLength={opts.max}
        autoComplete="off"
        spellcheck={false}
        inputMode={opts.numeric ? 'numeric' : undefined}
        onInput={(e) => onChange({ ...value, [key]: e.currentTarget.value })}
        {...(opts.confirm
          ? {
              onPaste: (e: ClipboardEvent) => e.preventDefault(),
              onDrop: (e: DragEvent) => e.preventDefault(),
              onBlur: () => setLeft((l) => ({ ...l, [opts.confirm as Pair]: true })),
            }
          : {})}
      />
    </label>
  );
  const shown = (pair: Pair) => mismatch(pair, value, left[pair] || checked);
  return (
    <fieldset class="collect-bank">
      <legend>{t('bankDetails')}</legend>
      <p class="muted">{t('bankTwiceHint')}</p>
      <div class="order-two">
        {input('bankAccount', 'bankAccount', { numeric: true, max: 48 })}
        {input('bankAccountConfirm', 'bankAccountAgain', { confirm: 'bankAccount', numeric: true, max: 48 })}
      </div>
      {shown('bankAccount') ? (
        <p class="field-problem" role="alert" data-testid="mismatch-bankAccount">
          {t('accountMismatch')}
        </p>
      ) : null}
      <div class="order-two">
        {input('name', 'holderName', { max: 64 })}
        {input('nameConfirm', 'holderNameAgain', { confirm: 'name', max: 64 })}
      </div>
      {shown('name') ? (
        <p class="field-problem" role="alert" data-testid="mismatch-name">
          {t('nameMismatch')}
        </p>
      ) : null}
    </fieldset>
  );
}
