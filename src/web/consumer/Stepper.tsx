import type { Tracking, TrackingStage } from '../shared/api';
import { useI18n } from './i18n';

/** The consumer's road: 已提交 → 商家审核 → 退款处理中 → 已退款. */
const ROAD: readonly TrackingStage[] = ['submitted', 'reviewing', 'processing', 'refunded'];

type StepState = 'done' | 'current' | 'todo' | 'stopped';

/**
 * The steps to draw: on the road, every stage with the current one marked; off it (rejected,
 * failed, canceled), the stages passed and then where it stopped.
 */
export function stepsOf(
  view: Pick<Tracking, 'stage' | 'history'>,
): { stage: TrackingStage; state: StepState }[] {
  const at = ROAD.indexOf(view.stage);
  if (at >= 0)
    return ROAD.map((stage, i) => ({
      stage,
      state: i < at || (i === at && stage === 'refunded') ? 'done' : i === at ? 'current' : 'todo',
    }));
  const passed = new Set(view.history.map((h) => h.stage));
  return [
    ...ROAD.filter((s) => passed.has(s)).map((stage) => ({ stage, state: 'done' as const })),
    { stage: view.stage, state: 'stopped' },
  ];
}

export function Stepper({ view }: { view: Pick<Tracking, 'stage' | 'history'> }) {
  const { t } = useI18n();
  const steps = stepsOf(view);
  return (
    <ol class="stepper" data-testid="stepper">
      {steps.map((s, i) => (
        <li
          key={s.stage}
          class={`step step-${s.state}`}
          data-step={s.stage}
          data-state={s.state}
          aria-current={s.state === 'current' ? 'step' : undefined}
        >
          <span class="step-dot" aria-hidden="true">
            {s.state === 'done' ? '✓' : s.state === 'stopped' ? '✕' : i + 1}
          </span>
          <span class="step-label">{t(`stage.${s.stage}`)}</span>
        </li>
      ))}
    </ol>
  );
}
