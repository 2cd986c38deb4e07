import { useEffect, useRef, useState } from 'preact/hooks';
import { useI18n } from '../i18n';

// The options object ECharts takes: typed loosely here so the library stays out of the main chunk.
export type ChartOption = Record<string, unknown>;

type EChartsLike = { setOption(o: ChartOption, notMerge?: boolean): void; resize(): void; dispose(): void };

/** One chart, drawn by ECharts (loaded on first use) into an SVG that follows the box's size. */
export function Chart({
  option,
  height = 280,
  label,
}: {
  option: ChartOption;
  height?: number;
  label: string;
}) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsLike | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let live = true;
    let observer: ResizeObserver | null = null;
    void import('./echarts').then(({ init }) => {
      if (!live || !box.current) return;
      chart.current = init(box.current, undefined, { renderer: 'svg' }) as unknown as EChartsLike;
      observer = new ResizeObserver(() => chart.current?.resize());
      observer.observe(box.current);
      setReady(true);
    });
    return () => {
      live = false;
      observer?.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    if (ready) chart.current?.setOption({ animation: false, ...option }, true);
  }, [ready, option]);

  return (
    <figure class="chart" aria-label={label} data-ready={ready ? 'true' : 'false'}>
      <div ref={box} style={{ height: `${height}px` }} />
      {ready ? null : <figcaption class="muted">{t('chartLoading')}</figcaption>}
    </figure>
  );
}
