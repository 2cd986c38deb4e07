import { type Lang, type Policy, type ReasonCode, type RefundMethod, reasonCodes } from '../../shared/api';
import { everyValueOf } from '../../shared/api-types';
import { type AmountError, fenToInput, formatFen, parseYuan } from '../../shared/money';
import type { MessageKey } from '../i18n';

/*
 * The policy page's model, without the page: the form's text fields from a policy, the policy
 * from the form (with one message per field that is wrong, checked against the API's limits), and
 * what changed, setting by setting, in words. The audit page describes policy changes with it too.
 */

/** Risk rules (domain/policy.ts `RiskRules`): a whole number, or null when the rule is off. */
export type RiskRules = Policy['riskRules'];
export type RiskKey = keyof RiskRules;
export const riskKeys = everyValueOf<RiskKey>()([
  'operatorRefundsPerHour',
  'cardRefundsPerDay',
  'shareOfDaySalesPercent',
]);

/*
 * The API's limits (PolicyBody in src/api/schemas.ts, riskRuleRanges and suggestedRiskRules in
 * src/domain/policy.ts): the bundle takes no server values, so they are restated here; the
 * server checks them again and answers validation_failed if they ever drift apart.
 */
const WINDOW_DAYS_MAX = 3650;
const ARRIVAL_DAYS_MAX = 60;
const LOCKOUT_ATTEMPTS = { min: 1, max: 20 };
const LOCKOUT_MINUTES = { min: 1, max: 1440 };
const AMOUNT_MAX_FEN = 100_000_000_000_00;
export const riskRanges: Readonly<Record<RiskKey, { min: number; max: number }>> = {
  operatorRefundsPerHour: { min: 1, max: 1_000 },
  cardRefundsPerDay: { min: 1, max: 100 },
  shareOfDaySalesPercent: { min: 1, max: 1_000 },
};
/** What a rule switched on starts at (the merchant can change it before saving). */
export const riskSuggested: Readonly<Record<RiskKey, number>> = {
  operatorRefundsPerHour: 10,
  cardRefundsPerDay: 3,
  shareOfDaySalesPercent: 50,
};

/** Refund methods in the API's order (the compiler holds the list to the API's union). */
export const refundMethodList = everyValueOf<RefundMethod>()(['original', 'cash', 'bank_transfer']);
export const windowMethods = ['card', 'qr', 'cash'] as const;
export const arrivalRoutes = ['card', 'qr', 'cash', 'bank_transfer'] as const;
export const amountFields = ['maxRefundAmount', 'dailyRefundLimit', 'largeRefundThreshold'] as const;
type AmountField = (typeof amountFields)[number];

/** The form: numbers as typed (amounts in yuan), choices as they are. */
export interface PolicyDraft {
  refundsEnabled: boolean;
  refundWindowDays: Record<(typeof windowMethods)[number], string>;
  maxRefundAmount: string;
  dailyRefundLimit: string;
  largeRefundThreshold: string;
  reasons: ReasonCode[];
  originalFee: 'prorata' | 'kept';
  handlingFee: string;
  methods: RefundMethod[];
  arrivalBusinessDays: Record<(typeof arrivalRoutes)[number], string>;
  lockoutAttempts: string;
  lockoutMinutes: string;
  risk: Record<RiskKey, { on: boolean; value: string }>;
}

/** A field's name (also its input's `name`) → what is wrong with it. */
export type FieldErrors = Partial<Record<string, MessageKey>>;

export function toDraft(p: Policy): PolicyDraft {
  const map = <K extends string>(keys: readonly K[], f: (k: K) => string) =>
    Object.fromEntries(keys.map((k) => [k, f(k)])) as Record<K, string>;
  return {
    refundsEnabled: p.refundsEnabled,
    refundWindowDays: map(windowMethods, (m) => String(p.refundWindowDays[m])),
    maxRefundAmount: fenToInput(p.maxRefundAmount),
    dailyRefundLimit: fenToInput(p.dailyRefundLimit),
    largeRefundThreshold: fenToInput(p.largeRefundThreshold),
    reasons: [...p.reasons],
    originalFee: p.feeRule.originalFee,
    handlingFee: fenToInput(p.feeRule.handlingFee),
    methods: [...p.methods],
    arrivalBusinessDays: map(arrivalRoutes, (r) => String(p.arrivalBusinessDays[r])),
    lockoutAttempts: String(p.lockout.maxAttempts),
    lockoutMinutes: String(p.lockout.minutes),
    risk: Object.fromEntries(
      riskKeys.map((k) => {
        const v = p.riskRules[k];
        return [k, { on: v !== null, value: String(v ?? riskSuggested[k]) }];
      }),
    ) as PolicyDraft['risk'],
  };
}

const amountMessages: Record<AmountError, MessageKey> = {
  empty: 'errRequired',
  format: 'errAmountFormat',
  decimals: 'errAmountDecimals',
  zero: 'errAmountZero',
  too_large: 'errAmountTooLarge',
};

/**
 * The policy the form describes, or the message for each field that is wrong. `base` supplies
 * what the form does not show (nothing today; fields the server adds later keep their value).
 */
export function fromDraft(
  d: PolicyDraft,
  base: Policy,
): { ok: true; policy: Policy } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const whole = (name: string, text: string, min: number, max: number): number => {
    const s = text.trim();
    if (s === '') {
      errors[name] = 'errRequired';
      return min;
    }
    const n = /^[0-9]{1,7}$/.test(s) ? Number(s) : Number.NaN;
    if (!Number.isSafeInteger(n)) errors[name] = 'errWholeNumber';
    else if (n < min || n > max) errors[name] = min === 0 ? 'errRangeFromZero' : 'errRange';
    return n;
  };
  const amount = (name: string, text: string, zeroAllowed: boolean): number => {
    const r = parseYuan(text);
    if (r.ok) {
      if (r.fen > AMOUNT_MAX_FEN) errors[name] = 'errAmountTooLarge';
      return r.fen;
    }
    if (zeroAllowed && r.error === 'zero') return 0;
    errors[name] = amountMessages[r.error];
    return 0;
  };

  const refundWindowDays = Object.fromEntries(
    windowMethods.map((m) => [m, whole(`refundWindowDays.${m}`, d.refundWindowDays[m], 0, WINDOW_DAYS_MAX)]),
  ) as Policy['refundWindowDays'];
  const amounts = Object.fromEntries(amountFields.map((f) => [f, amount(f, d[f], false)])) as Record<
    AmountField,
    number
  >;
  if (
    !errors.maxRefundAmount &&
    !errors.dailyRefundLimit &&
    amounts.maxRefundAmount > amounts.dailyRefundLimit
  )
    errors.maxRefundAmount = 'errMaxOverDaily';
  const handlingFee = amount('feeRule.handlingFee', d.handlingFee, true);
  if (d.reasons.length === 0) errors.reasons = 'errReasonsEmpty';
  if (d.methods.length === 0) errors.methods = 'errMethodsEmpty';
  const arrivalBusinessDays = Object.fromEntries(
    arrivalRoutes.map((r) => [
      r,
      whole(`arrivalBusinessDays.${r}`, d.arrivalBusinessDays[r], 0, ARRIVAL_DAYS_MAX),
    ]),
  ) as Policy['arrivalBusinessDays'];
  const lockout = {
    maxAttempts: whole('lockout.maxAttempts', d.lockoutAttempts, LOCKOUT_ATTEMPTS.min, LOCKOUT_ATTEMPTS.max),
    minutes: whole('lockout.minutes', d.lockoutMinutes, LOCKOUT_MINUTES.min, LOCKOUT_MINUTES.max),
  };
  const riskRules = Object.fromEntries(
    riskKeys.map((k) => {
      const { on, value } = d.risk[k];
      const { min, max } = riskRanges[k];
      return [k, on ? whole(`riskRules.${k}`, value, min, max) : null];
    }),
  ) as unknown as RiskRules;

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    policy: {
      ...base,
      refundsEnabled: d.refundsEnabled,
      refundWindowDays,
      ...amounts,
      // In the API's order, whatever order they were ticked in: an unchanged set is no change.
      reasons: reasonCodes.filter((r) => d.reasons.includes(r)),
      feeRule: { originalFee: d.originalFee, handlingFee },
      methods: refundMethodList.filter((m) => d.methods.includes(m)),
      arrivalBusinessDays,
      lockout,
      riskRules,
    },
  };
}

/** The limits a field's message names ({min}–{max}). */
export function fieldRange(name: string): { min: number; max: number } | null {
  if (name.startsWith('refundWindowDays.')) return { min: 0, max: WINDOW_DAYS_MAX };
  if (name.startsWith('arrivalBusinessDays.')) return { min: 0, max: ARRIVAL_DAYS_MAX };
  if (name === 'lockout.maxAttempts') return LOCKOUT_ATTEMPTS;
  if (name === 'lockout.minutes') return LOCKOUT_MINUTES;
  if (name.startsWith('riskRules.')) return riskRanges[name.slice('riskRules.'.length) as RiskKey] ?? null;
  return null;
}

/** The top-level settings that differ: what PUT /v1/policy is sent (the others keep their value). */
export function changedSettings(before: Policy, after: Policy): Partial<Policy> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(after)) {
    if (JSON.stringify(v) !== JSON.stringify((before as Record<string, unknown>)[k])) out[k] = v;
  }
  return out as Partial<Policy>;
}

export interface Change {
  /** The setting's field name (the input's `name`). */
  name: string;
  label: string;
  from: string;
  to: string;
}

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;
type Leaf = {
  name: string;
  label: MessageKey;
  get: (p: Partial<Policy>) => unknown;
  show: (v: never) => string;
};

/** Every setting the page shows, one leaf each, with how its value reads. */
function leaves(t: T, lang: Lang): Leaf[] {
  const list = (words: string[]) =>
    words.length === 0 ? t('none') : words.join(lang === 'en' ? ', ' : '、');
  const days = (n: number) => t('admDays', { n });
  const businessDays = (n: number) => t('admBusinessDays', { n });
  const out: Leaf[] = [
    {
      name: 'refundsEnabled',
      label: 'polRefundsEnabled',
      get: (p) => p.refundsEnabled,
      show: (v: boolean) => t(v ? 'polOn' : 'polOff'),
    },
    ...windowMethods.map((m) => ({
      name: `refundWindowDays.${m}`,
      label: `polWindow.${m}` as MessageKey,
      get: (p: Partial<Policy>) => p.refundWindowDays?.[m],
      show: days,
    })),
    ...amountFields.map((f) => ({
      name: f,
      label: `pol.${f}` as MessageKey,
      get: (p: Partial<Policy>) => p[f],
      show: formatFen,
    })),
    {
      name: 'reasons',
      label: 'polReasons',
      get: (p) => p.reasons,
      show: (v: ReasonCode[]) => list(v.map((r) => t(`reason.${r}`))),
    },
    {
      name: 'feeRule.originalFee',
      label: 'polOriginalFee',
      get: (p) => p.feeRule?.originalFee,
      show: (v: 'prorata' | 'kept') => t(`polFee.${v}`),
    },
    {
      name: 'feeRule.handlingFee',
      label: 'polHandlingFee',
      get: (p) => p.feeRule?.handlingFee,
      show: (v: number) => (v === 0 ? t('polNoFee') : formatFen(v)),
    },
    {
      name: 'methods',
      label: 'polMethods',
      get: (p) => p.methods,
      show: (v: RefundMethod[]) => list(v.map((m) => t(`refundMethod.${m}`))),
    },
    ...arrivalRoutes.map((r) => ({
      name: `arrivalBusinessDays.${r}`,
      label: `polArrival.${r}` as MessageKey,
      get: (p: Partial<Policy>) => p.arrivalBusinessDays?.[r],
      show: businessDays,
    })),
    {
      name: 'lockout.maxAttempts',
      label: 'polLockoutAttempts',
      get: (p) => p.lockout?.maxAttempts,
      show: (n: number) => t('admTimes', { n }),
    },
    {
      name: 'lockout.minutes',
      label: 'polLockoutMinutes',
      get: (p) => p.lockout?.minutes,
      show: (n: number) => t('admMinutes', { n }),
    },
    ...riskKeys.map((k) => ({
      name: `riskRules.${k}`,
      label: `polRisk.${k}` as MessageKey,
      get: (p: Partial<Policy>) => p.riskRules?.[k],
      show: (v: number | null) => (v === null ? t('polRuleOff') : t(`polRiskValue.${k}`, { n: v })),
    })),
  ];
  return out;
}

/**
 * The settings that differ between two policies (or the `before`/`after` of a policy.changed
 * audit entry, which hold only what changed), each as "label: before → after" in words.
 */
export function describeChanges(before: Partial<Policy>, after: Partial<Policy>, t: T, lang: Lang): Change[] {
  const changes: Change[] = [];
  for (const leaf of leaves(t, lang)) {
    const a = leaf.get(before);
    const b = leaf.get(after);
    if (b === undefined || JSON.stringify(a) === JSON.stringify(b)) continue;
    const show = leaf.show as (v: unknown) => string;
    changes.push({
      name: leaf.name,
      label: t(leaf.label),
      from: a === undefined ? '—' : show(a),
      to: show(b),
    });
  }
  return changes;
}
