import { requirePermission } from '../domain/auth.js';
import { type AuditFilter, type AuditListRow, readAuditPage } from '../store/audit.js';
import type { Caller, Ctx } from './context.js';

/** An audit entry as GET /v1/audit answers it: the row, its facts parsed from their JSON. */
export function auditEntryView({ data_json, ...row }: AuditListRow) {
  return { ...row, seq: Number(row.seq), data: JSON.parse(data_json) as Record<string, unknown> };
}

/** The merchant's audit log, newest first, one page of the entries that match (store/audit.ts). */
export async function listAudit(
  ctx: Ctx,
  caller: Caller,
  f: AuditFilter & { cursor?: string | undefined; limit: number },
) {
  requirePermission(caller.principal, 'audit.read');
  const { cursor, limit, ...filter } = f;
  const page = await readAuditPage(ctx.store.db, caller.merchantId, filter, { cursor, limit });
  return { data: page.rows.map(auditEntryView), hasMore: page.hasMore, nextCursor: page.nextCursor };
}
