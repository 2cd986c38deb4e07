import type { ComponentChildren } from 'preact';
import { reasonCodes } from '../../shared/api';
import { type MessageKey, useI18n } from '../i18n';
import {
  amountFields,
  arrivalRoutes,
  type FieldErrors,
  fieldRange,
  type PolicyDraft,
  refundMethodList,
  riskKeys,
  windowMethods,
} from './PolicyModel';

type Props = {
  draft: PolicyDraft;
  errors: FieldErrors;
  readOnly: boolean;
  onChange: (d: PolicyDraft) => void;
};

/** Every setting of the policy (PRODUCT.md §4 and the risk rules), grouped, each input named by its field. */
export function PolicyFields({ draft, errors, readOnly, onChange }: Props) {
  const { t } = useI18n();
  const set = <K extends keyof PolicyDraft>(k: K, v: PolicyDraft[K]) => onChange({ ...draft, [k]: v });
  const toggle = <V extends string>(list: V[], v: V, on: boolean): V[] =>
    on ? [...list.filter((x) => x !== v), v] : list.filter((x) => x !== v);

  return (
    <fieldset class="policy-grid" disabled={readOnly} data-testid="policy-fields">
      <Group title={t('polGroupSwitch')}>
        <label class="check">
          <input
            type="checkbox"
            name="refundsEnabled"
            checked={draft.refundsEnabled}
            onChange={(e) => set('refundsEnabled', e.currentTarget.checked)}
          />
          {t('polRefundsEnabled')}
        </label>
        <p class="muted">{t('polRefundsEnabledHint')}</p>
      </Group>

      <Group title={t('polGroupWindow')} hint={t('polWindowHint')}>
        {windowMethods.map((m) => (
          <Field
            key={m}
            name={`refundWindowDays.${m}`}
            label={t(`polWindow.${m}`)}
            errors={errors}
            unit={t('admUnitDays')}
          >
            <input
              name={`refundWindowDays.${m}`}
              id={`refundWindowDays.${m}`}
              inputMode="numeric"
              maxLength={4}
              value={draft.refundWindowDays[m]}
              onInput={(e) =>
                set('refundWindowDays', { ...draft.refundWindowDays, [m]: e.currentTarget.value })
              }
            />
          </Field>
        ))}
      </Group>

      <Group title={t('polGroupAmounts')} hint={t('polAmountsHint')}>
        {amountFields.map((f) => (
          <Field key={f} name={f} label={t(`pol.${f}`)} errors={errors} prefix="¥">
            <input
              name={f}
              id={f}
              inputMode="decimal"
              maxLength={16}
              value={draft[f]}
              onInput={(e) => set(f, e.currentTarget.value)}
            />
          </Field>
        ))}
      </Group>

      <Group title={t('polReasons')}>
        <div class="checks">
          {reasonCodes.map((r) => (
            <label class="check" key={r}>
              <input
                type="checkbox"
                name={`reasons.${r}`}
                checked={draft.reasons.includes(r)}
                onChange={(e) => set('reasons', toggle(draft.reasons, r, e.currentTarget.checked))}
              />
              {t(`reason.${r}`)}
            </label>
          ))}
        </div>
        <FieldError name="reasons" errors={errors} />
      </Group>

      <Group title={t('polGroupFee')}>
        <div class="checks" role="radiogroup" aria-label={t('polOriginalFee')}>
          {(['prorata', 'kept'] as const).map((v) => (
            <label class="check" key={v}>
              <input
                type="radio"
                name="feeRule.originalFee"
                value={v}
                checked={draft.originalFee === v}
                onChange={() => set('originalFee', v)}
              />
              {t(`polFee.${v}`)}
            </label>
          ))}
        </div>
        <Field name="feeRule.handlingFee" label={t('polHandlingFee')} errors={errors} prefix="¥">
          <input
            name="feeRule.handlingFee"
            id="feeRule.handlingFee"
            inputMode="decimal"
            maxLength={16}
            value={draft.handlingFee}
            onInput={(e) => set('handlingFee', e.currentTarget.value)}
          />
        </Field>
        <p class="muted">{t('polHandlingFeeHint')}</p>
      </Group>

      <Group title={t('polMethods')}>
        <div class="checks">
          {refundMethodList.map((m) => (
            <label class="check" key={m}>
              <input
                type="checkbox"
                name={`methods.${m}`}
                checked={draft.methods.includes(m)}
                onChange={(e) => set('methods', toggle(draft.methods, m, e.currentTarget.checked))}
              />
              {t(`refundMethod.${m}`)}
            </label>
          ))}
        </div>
        <FieldError name="methods" errors={errors} />
      </Group>

      <Group title={t('polGroupArrival')} hint={t('polArrivalHint')}>
        {arrivalRoutes.map((r) => (
          <Field
            key={r}
            name={`arrivalBusinessDays.${r}`}
            label={t(`polArrival.${r}`)}
            errors={errors}
            unit={t('admUnitBusinessDays')}
          >
            <input
              name={`arrivalBusinessDays.${r}`}
              id={`arrivalBusinessDays.${r}`}
              inputMode="numeric"
              maxLength={2}
              value={draft.arrivalBusinessDays[r]}
              onInput={(e) =>
                set('arrivalBusinessDays', { ...draft.arrivalBusinessDays, [r]: e.currentTarget.value })
              }
            />
          </Field>
        ))}
      </Group>

      <Group title={t('polGroupLockout')} hint={t('polLockoutHint')}>
        <Field
          name="lockout.maxAttempts"
          label={t('polLockoutAttempts')}
          errors={errors}
          unit={t('admUnitTimes')}
        >
          <input
            name="lockout.maxAttempts"
            id="lockout.maxAttempts"
            inputMode="numeric"
            maxLength={2}
            value={draft.lockoutAttempts}
            onInput={(e) => set('lockoutAttempts', e.currentTarget.value)}
          />
        </Field>
        <Field
          name="lockout.minutes"
          label={t('polLockoutMinutes')}
          errors={errors}
          unit={t('admUnitMinutes')}
        >
          <input
            name="lockout.minutes"
            id="lockout.minutes"
            inputMode="numeric"
            maxLength={4}
            value={draft.lockoutMinutes}
            onInput={(e) => set('lockoutMinutes', e.currentTarget.value)}
          />
        </Field>
      </Group>

      <RiskRules draft={draft} errors={errors} onChange={onChange} />
    </fieldset>
  );
}

/** 风控规则: each rule switched on or off, with its limit when on. */
function RiskRules({ draft, errors, onChange }: Omit<Props, 'readOnly'>) {
  const { t } = useI18n();
  return (
    <Group title={t('polGroupRisk')} hint={t('polRiskHint')} wide>
      {riskKeys.map((k) => {
        const rule = draft.risk[k];
        const setRule = (v: Partial<typeof rule>) =>
          onChange({ ...draft, risk: { ...draft.risk, [k]: { ...rule, ...v } } });
        return (
          <div class="risk-rule" key={k}>
            <label class="check">
              <input
                type="checkbox"
                name={`riskRules.${k}.on`}
                checked={rule.on}
                onChange={(e) => setRule({ on: e.currentTarget.checked })}
              />
              {t(`polRisk.${k}`)}
            </label>
            <Field
              name={`riskRules.${k}`}
              label={t('polRiskLimit')}
              errors={errors}
              unit={t(`polRiskUnit.${k}`)}
            >
              <input
                name={`riskRules.${k}`}
                id={`riskRules.${k}`}
                inputMode="numeric"
                maxLength={4}
                disabled={!rule.on}
                value={rule.value}
                onInput={(e) => setRule({ value: e.currentTarget.value })}
              />
            </Field>
            <p class="muted">{t(`polRiskHint.${k}`)}</p>
          </div>
        );
      })}
    </Group>
  );
}

function Group({
  title,
  hint,
  wide,
  children,
}: {
  title: string;
  hint?: string;
  wide?: boolean;
  children: ComponentChildren;
}) {
  return (
    <section class={wide ? 'panel policy-group wide' : 'panel policy-group'}>
      <h2>{title}</h2>
      {hint ? <p class="muted">{hint}</p> : null}
      {children}
    </section>
  );
}

function Field({
  name,
  label,
  errors,
  prefix,
  unit,
  children,
}: {
  name: string;
  label: string;
  errors: FieldErrors;
  prefix?: string;
  unit?: string;
  children: ComponentChildren;
}) {
  return (
    <label class={errors[name] ? 'policy-field invalid' : 'policy-field'} htmlFor={name}>
      {label}
      <span class="with-unit">
        {prefix ? <span class="unit">{prefix}</span> : null}
        {children}
        {unit ? <span class="unit">{unit}</span> : null}
      </span>
      <FieldError name={name} errors={errors} />
    </label>
  );
}

function FieldError({ name, errors }: { name: string; errors: FieldErrors }) {
  const { t } = useI18n();
  const key: MessageKey | undefined = errors[name];
  if (!key) return null;
  return (
    <span class="field-error" data-field-error={name}>
      {t(key, fieldRange(name) ?? undefined)}
    </span>
  );
}
