/**
 * The charting library: Apache ECharts, loaded only by the pages that draw charts (its own chunk).
 * Why ECharts: an Apache project, well kept, what Chinese merchants' back offices already use, with
 * Chinese built in, modular (only bar, line and pie with their grid/tooltip/legend are bundled) and an
 * SVG renderer, so charts are crisp in screenshots and their text is in the page for tests and screen
 * readers. Amounts stay integer fen in the data; axis labels and tooltips format them as yuan text.
 */
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

export { init };
