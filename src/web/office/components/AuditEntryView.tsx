import type { AuditEntry, Policy } from '../../shared/api';
import { formatDateTime } from '../../shared/time';
import { hasKey, type MessageKey, useI18n } from '../i18n';
import { PolicyChangeList } from './PolicyChangeList';
import { describeChanges } from './PolicyModel';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** "op:99" → "操作员 99", "key:…" → "API 密钥 …", the service's own actors by name. */
export function actorText(actor: string, t: T): string {
  const [kind, ...rest] = actor.split(':');
  const id = rest.join(':');
  if (kind === 'op' && id) return t('auditActorOperator', { no: id });
  if (kind === 'key' && id) return t('auditActorKey', { id });
  const key = `auditActor.${kind}`;
  return hasKey(key) ? t(key) : actor;
}

/** An action's words where the page knows it (`audit.policy.changed`), else its code. */
export function actionText(action: string, t: T): string {
  const key = `audit.${action}`;
  return hasKey(key) ? t(key) : action;
}

export function entityText(entity: string, t: T): string {
  const key = `auditEntity.${entity}`;
  return hasKey(key) ? t(key) : entity;
}

/** A policy.changed entry's `data`: `{changed, before, after}` with only the settings that changed. */
function policyChange(
  data: Record<string, unknown>,
): { before: Partial<Policy>; after: Partial<Policy> } | null {
  const { before, after } = data;
  return before && after && typeof before === 'object' && typeof after === 'object'
    ? { before: before as Partial<Policy>, after: after as Partial<Policy> }
    : null;
}

/** One audit entry as a table row: time in the merchant's zone, who, what, on what, and its facts. */
export function AuditEntryRow({ entry, timeZone }: { entry: AuditEntry; timeZone: string }) {
  const { t, lang } = useI18n();
  const policy =
    entry.action === 'policy.changed' ? policyChange(entry.data as Record<string, unknown>) : null;
  const changes = policy ? describeChanges(policy.before, policy.after, t, lang) : [];
  return (
    <tr data-audit-seq={entry.seq} data-action={entry.action}>
      <td class="num">{entry.seq}</td>
      <td>{formatDateTime(entry.at, timeZone, lang)}</td>
      <td title={entry.actor}>{actorText(entry.actor, t)}</td>
      <td title={entry.action}>{actionText(entry.action, t)}</td>
      <td>
        {entityText(entry.entity, t)}
        <div class="muted mono">{entry.entity_id}</div>
      </td>
      <td class="audit-data">
        {changes.length > 0 ? <PolicyChangeList changes={changes} testId="audit-policy-changes" /> : null}
        <details>
          <summary>{t('auditData')}</summary>
          <pre>{JSON.stringify(entry.data, null, 2)}</pre>
          <div class="muted mono">
            {t('auditHash')} {entry.hash.slice(0, 16)}…
          </div>
        </details>
      </td>
    </tr>
  );
}
