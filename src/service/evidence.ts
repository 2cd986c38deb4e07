import { createHash } from 'node:crypto';
import { requirePermission } from '../domain/auth.js';
import { checkEvidence, mediaTypeOf } from '../domain/evidence.js';
import { ulid } from '../ids.js';
import { appendAudit } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import {
  countEvidence,
  type EvidenceRow,
  insertEvidence,
  listEvidenceRows,
  loadEvidence,
  loadRefundRow,
  lockRefund,
} from '../store/repo.js';
import type { Caller, Ctx } from './context.js';

/**
 * Evidence photos of a refund in review (issue 11): the reviewer's, added while the refund waits
 * for its review, kept in the store with the refund, listed without their bytes, served as they
 * were checked. Every photo added is audited by its hash and size, never its bytes.
 */

/**
 * A photo as received: the media type its request declared, its size and hash — and its bytes,
 * which are not enumerable. The upload is the request body as the idempotency check fingerprints
 * it (canonical JSON of the enumerable fields): a retry is "the same request" by the photo's hash,
 * and 2 MiB are never walked byte by byte as JSON.
 */
export interface EvidenceUpload {
  readonly declaredType: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly data: Buffer;
}

export function evidenceUpload(contentType: string | undefined, data: Buffer): EvidenceUpload {
  const upload = {
    declaredType: mediaTypeOf(contentType),
    bytes: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
  };
  return Object.defineProperty(upload, 'data', { value: data, enumerable: false }) as EvidenceUpload;
}

export function evidenceView(row: Omit<EvidenceRow, 'data' | 'merchant_id'>) {
  return {
    id: row.id,
    refundId: row.refund_id,
    contentType: row.content_type,
    bytes: Number(row.size_bytes),
    sha256: row.sha256,
    uploadedBy: row.uploaded_by,
    at: row.created_at,
  };
}

export type EvidenceView = ReturnType<typeof evidenceView>;

/**
 * Add one photo. The refund is locked (merchant → payment → refund) first, so the count of its
 * photos and its status hold until this insert commits: two uploads at once cannot make a seventh.
 */
export async function addEvidence(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  refundId: string,
  upload: EvidenceUpload,
): Promise<EvidenceView> {
  requirePermission(caller.principal, 'refund.review');
  await loadRefundRow(trx, caller.merchantId, refundId, false);
  const refund = await lockRefund(trx, caller.merchantId, refundId);
  if (!refund) throw new Error(`refund ${refundId} vanished under its lock`);
  const contentType = checkEvidence({
    declaredType: upload.declaredType,
    bytes: upload.data,
    refundStatus: refund.status,
    photosSoFar: await countEvidence(trx, caller.merchantId, refundId),
  });
  const now = ctx.clock();
  const row: EvidenceRow = {
    id: `ev_${ulid()}`,
    merchant_id: caller.merchantId,
    refund_id: refundId,
    content_type: contentType,
    size_bytes: upload.data.length,
    sha256: upload.sha256,
    data: upload.data,
    uploaded_by: caller.actor,
    created_at: now.toISOString(),
  };
  await insertEvidence(trx, row);
  const view = evidenceView(row);
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'refund.evidence_added',
    entity: 'refund',
    entityId: refundId,
    data: { evidenceId: view.id, contentType, bytes: view.bytes, sha256: view.sha256 },
    at: now,
  });
  return view;
}

export async function listEvidence(ctx: Ctx, caller: Caller, refundId: string): Promise<EvidenceView[]> {
  requirePermission(caller.principal, 'refund.review');
  await loadRefundRow(ctx.store.db, caller.merchantId, refundId, false);
  return (await listEvidenceRows(ctx.store.db, caller.merchantId, refundId)).map(evidenceView);
}

/** One photo's bytes and type, as stored. */
export async function evidencePhoto(ctx: Ctx, caller: Caller, refundId: string, evidenceId: string) {
  requirePermission(caller.principal, 'refund.review');
  const row = await loadEvidence(ctx.store.db, caller.merchantId, refundId, evidenceId);
  return {
    contentType: row.content_type,
    data: Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data),
  };
}
