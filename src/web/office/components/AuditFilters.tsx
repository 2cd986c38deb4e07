import { q } from '../../shared/api';
import { keysUnder, useI18n } from '../i18n';
import { actionText, actorText, entityText } from './AuditEntryView';
import { dayRange } from './AuditTime';

/** The audit page's filters, as its address keeps them (`?action=policy.changed&day=…`). */
export interface AuditFilters {
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  /** A merchant day, YYYY-MM-DD. */
  day: string;
}

const NONE: AuditFilters = { actor: '', action: '', entity: '', entityId: '', day: '' };

/** What the API's entity-id filter takes (api/schemas.ts `Id`). */
const ENTITY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const auditFiltersFromUrl = (): AuditFilters => {
  const s = new URLSearchParams(location.search);
  return {
    actor: s.get('actor') ?? '',
    action: s.get('action') ?? '',
    entity: s.get('entity') ?? '',
    entityId: s.get('entityId') ?? '',
    day: s.get('day') ?? '',
  };
};

/**
 * The filters as GET /v1/audit and GET /v1/exports/audit.csv both take them (the same query on
 * the server): the merchant day as its `[from, to)` instants in the merchant's time zone.
 */
export function auditQuery(f: AuditFilters, timeZone: string) {
  const range = dayRange(f.day, f.day, timeZone);
  return {
    actor: f.actor,
    action: f.action,
    entity: f.entity,
    entityId: f.entityId,
    from: range.from,
    to: range.to,
  };
}

const sorted = (values: Iterable<string>, current: string): string[] =>
  [...new Set([...values, ...(current ? [current] : [])])].sort();

/**
 * The filter form: who, what and on what (the actions and entities the page has words for, and
 * those seen in the entries loaded; the actors seen), an entity's id, a day. Each change is sent
 * to the server; the address keeps them, so a link (from the policy page) or a reload does too.
 */
export function AuditFilterForm({
  filters,
  onChange,
  actorsSeen,
}: {
  filters: AuditFilters;
  onChange: (next: AuditFilters) => void;
  actorsSeen: Iterable<string>;
}) {
  const { t } = useI18n();
  const set = (k: keyof AuditFilters, v: string) => {
    const next = { ...filters, [k]: v };
    onChange(next);
    history.replaceState(null, '', `${location.pathname}${q({ ...next })}`);
  };
  const select = (k: 'actor' | 'action' | 'entity', options: string[], words: (v: string) => string) => (
    <label>
      {t(`auditFilter.${k}`)}
      <select name={k} value={filters[k]} onChange={(e) => set(k, e.currentTarget.value)}>
        <option value="">{t('auditAll')}</option>
        {options.map((v) => (
          <option key={v} value={v}>
            {words(v)}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()} data-testid="audit-filters">
      {select('actor', sorted(actorsSeen, filters.actor), (v) => actorText(v, t))}
      {select('action', sorted(keysUnder('audit.'), filters.action), (v) => actionText(v, t))}
      {select('entity', sorted(keysUnder('auditEntity.'), filters.entity), (v) => entityText(v, t))}
      <label>
        {t('auditFilter.entityId')}
        <input
          name="entityId"
          class="mono"
          value={filters.entityId}
          maxLength={64}
          pattern="[A-Za-z0-9_\-]{1,64}"
          autoComplete="off"
          onChange={(e) => {
            const v = e.currentTarget.value.trim();
            if (v === '' || ENTITY_ID.test(v)) set('entityId', v);
          }}
        />
      </label>
      <label>
        {t('date')}
        <input
          type="date"
          name="day"
          value={filters.day}
          onInput={(e) => set('day', e.currentTarget.value)}
        />
      </label>
      <button
        type="button"
        class="btn btn-ghost"
        onClick={() => {
          onChange(NONE);
          history.replaceState(null, '', location.pathname);
        }}
      >
        {t('clear')}
      </button>
    </form>
  );
}
