import type { RefundStatus } from '../domain/refund-state.js';
import { ulid } from '../ids.js';
import { isMessageStep } from '../receipts/status-messages.js';
import type { Tx } from './db.js';
import { enqueueOutbox } from './repo.js';
import type { OutboxTable, RefundTable } from './schema.js';

/** Outbox kind of one status message to a consumer (one channel). */
export const CONSUMER_MESSAGE_KIND = 'consumer.message';

export interface ConsumerMessagePayload {
  merchantId: string;
  refundId: string;
  step: RefundStatus;
  channel: 'sms' | 'email';
}

/**
 * Queue the consumer's messages for a step of their refund, in the transaction that made the step:
 * one outbox row per channel they gave (the masked contact says which; the address stays sealed
 * until the worker sends). Only refunds whose consumer asked for updates (`notify_lang`) have any.
 */
export async function queueConsumerMessages(
  trx: Tx,
  refund: Pick<RefundTable, 'id' | 'merchant_id' | 'consumer_masked_json'> & { notify_lang?: string | null },
  step: RefundStatus,
  at: Date,
): Promise<void> {
  if (!refund.notify_lang || !isMessageStep(step) || !refund.consumer_masked_json) return;
  const masked = JSON.parse(refund.consumer_masked_json) as { phone?: string; email?: string };
  const channels = [
    ...(masked.phone ? (['sms'] as const) : []),
    ...(masked.email ? (['email'] as const) : []),
  ];
  for (const channel of channels) {
    const payload: ConsumerMessagePayload = {
      merchantId: refund.merchant_id,
      refundId: refund.id,
      step,
      channel,
    };
    await enqueueOutbox(trx, {
      id: `ob_${ulid()}`,
      kind: CONSUMER_MESSAGE_KIND,
      refId: refund.id,
      merchantId: refund.merchant_id,
      payload,
      at,
    });
  }
}

/**
 * Whether an earlier status message of the same refund is still to be sent (pending, claimed or
 * waiting for a retry): a step's message goes only after the ones before it, or after they died.
 * Row ids are ULIDs, so their order is the order the steps were queued in.
 */
export async function earlierMessagePending(
  db: Tx,
  row: Pick<OutboxTable, 'id' | 'ref_id'>,
): Promise<boolean> {
  const earlier = await db
    .selectFrom('outbox')
    .select('id')
    .where('kind', '=', CONSUMER_MESSAGE_KIND)
    .where('ref_id', '=', row.ref_id)
    .where('status', '=', 'pending')
    .where('id', '<', row.id)
    .limit(1)
    .executeTakeFirst();
  return earlier !== undefined;
}
