import type { Table } from '../../shared/i18n';

/** Words of the admin pages: [zh-CN, zh-TW, en]. */
export const adminWords = {} as const satisfies Table;
