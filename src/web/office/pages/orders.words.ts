import type { Table } from '../../shared/i18n';

/** Words of the orders pages: [zh-CN, zh-TW, en]. */
export const ordersWords = {} as const satisfies Table;
