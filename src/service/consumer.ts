import { DomainError } from '../domain/errors.js';
import type { RefundMethod } from '../domain/policy.js';
import { type ConsumerContact, maskConsumer, phoneSearchHash, type Secrets, seal } from '../security.js';

/**
 * The consumer's details as a refund request brings them: the contact, and for an off-site refund
 * paid by bank transfer (seed 004: 退款到错误账户 cannot happen because the details are entered
 * twice) the account number and the account holder's name typed a second time.
 */
export interface ConsumerInput extends ConsumerContact {
  bankAccountConfirm?: string | undefined;
  nameConfirm?: string | undefined;
}

/** What a refund row keeps of the consumer: sealed, masked, and the phone's search hash. */
export interface ConsumerColumns {
  consumer_enc: string | null;
  consumer_masked_json: string | null;
  consumer_phone_hash: string | null;
}

/** An account number as compared and stored: the digits as typed, spaces (groups of four) removed. */
const accountDigits = (a: string) => a.replace(/\s+/g, '');
/** A name as compared and stored: Unicode NFC, no outer spaces, inner runs of spaces as one. */
const holderName = (n: string) => n.normalize('NFC').trim().replace(/\s+/g, ' ');

const ACCOUNT = /^[0-9]{8,32}$/;

/**
 * The consumer's details checked and cleaned for storage. A bank-transfer refund needs the account
 * and the holder's name, each equal to its confirmation (the account compared without spaces);
 * a mismatch is `bank_details_mismatch`, naming the field and never echoing what was typed. The
 * confirmations are dropped here: only the cleaned contact is kept.
 */
export function checkedConsumer(
  method: RefundMethod,
  input: ConsumerInput | undefined,
): ConsumerContact | undefined {
  const { bankAccountConfirm, nameConfirm, ...contact } = input ?? {};
  if (contact.bankAccount !== undefined) contact.bankAccount = accountDigits(contact.bankAccount);
  if (contact.name !== undefined) contact.name = holderName(contact.name);
  if (contact.bankAccount !== undefined && !ACCOUNT.test(contact.bankAccount))
    throw new DomainError(
      'validation_failed',
      'consumer.bankAccount must be 8 to 32 digits (spaces allowed)',
    );
  if (method === 'bank_transfer') {
    const missing = [
      ...(contact.bankAccount ? [] : ['consumer.bankAccount']),
      ...(bankAccountConfirm ? [] : ['consumer.bankAccountConfirm']),
      ...(contact.name ? [] : ['consumer.name']),
      ...(nameConfirm ? [] : ['consumer.nameConfirm']),
    ];
    if (missing.length > 0)
      throw new DomainError(
        'validation_failed',
        `a bank-transfer refund needs the account and the holder's name, each typed twice: ${missing.join(', ')} missing`,
        { fields: missing },
      );
    if (accountDigits(bankAccountConfirm as string) !== contact.bankAccount)
      throw new DomainError(
        'bank_details_mismatch',
        'consumer.bankAccountConfirm does not match consumer.bankAccount: ask for the account number again',
        { field: 'bankAccount' },
      );
    if (holderName(nameConfirm as string) !== contact.name)
      throw new DomainError(
        'bank_details_mismatch',
        "consumer.nameConfirm does not match consumer.name: ask for the account holder's name again",
        { field: 'name' },
      );
  } else if (bankAccountConfirm !== undefined || nameConfirm !== undefined) {
    throw new DomainError(
      'validation_failed',
      'consumer.bankAccountConfirm and consumer.nameConfirm are for bank-transfer refunds only',
    );
  }
  const kept = Object.fromEntries(Object.entries(contact).filter(([, v]) => v !== undefined && v !== ''));
  return Object.keys(kept).length > 0 ? (kept as ConsumerContact) : undefined;
}

/** A refund row's consumer columns: checked (`checkedConsumer`), sealed, masked, phone hashed. */
export function consumerColumns(
  secrets: Secrets,
  method: RefundMethod,
  input: ConsumerInput | undefined,
): ConsumerColumns {
  const consumer = checkedConsumer(method, input);
  if (!consumer) return { consumer_enc: null, consumer_masked_json: null, consumer_phone_hash: null };
  return {
    consumer_enc: seal(secrets, JSON.stringify(consumer)),
    consumer_masked_json: JSON.stringify(maskConsumer(consumer)),
    consumer_phone_hash: consumer.phone ? phoneSearchHash(secrets, consumer.phone) : null,
  };
}
