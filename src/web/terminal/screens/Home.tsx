import type { Route } from '../app-context';
import { useApp } from '../app-context';
import { Icon } from '../components/icons';
import { type MessageKey, useI18n } from '../i18n';

const tiles: { route: Route['name'] | 'signOut'; label: MessageKey; hint: MessageKey }[] = [
  { route: 'refund', label: 'refund', hint: 'refundHint' },
  { route: 'returns', label: 'returns', hint: 'returnsHint' },
  { route: 'void', label: 'void', hint: 'voidHint' },
  { route: 'adjust', label: 'adjust', hint: 'adjustHint' },
  { route: 'sale', label: 'sale', hint: 'saleHint' },
  { route: 'transactions', label: 'transactions', hint: 'transactionsHint' },
  { route: 'settlement', label: 'settlement', hint: 'settlementHint' },
  { route: 'reprint', label: 'reprint', hint: 'reprintHint' },
  { route: 'signOut', label: 'signOut', hint: 'signOutHint' },
];

/** Only an admin manages operators (lifts lockouts); the tile sits before 签退. */
const adminTile = { route: 'operators', label: 'operators', hint: 'operatorsHint' } as const;

/**
 * The nine things a cashier does, as big tiles; 退货 first, where the thumb lands, 扫码退货 beside it.
 * An admin sees a tenth.
 */
export function HomeScreen() {
  const { go, signOut, session } = useApp();
  const { t } = useI18n();
  const admin = session.operator.role === 'admin';
  const shown = admin ? [...tiles.slice(0, -1), adminTile, ...tiles.slice(-1)] : tiles;
  return (
    <nav class="home-grid" aria-label={t('homeTitle')}>
      {shown.map((tile) => (
        <button
          key={tile.route}
          type="button"
          class={`tile tile-${tile.route}`}
          data-action={tile.route}
          onClick={() => (tile.route === 'signOut' ? signOut() : go({ name: tile.route } as Route))}
        >
          <span class="tile-icon">
            <Icon name={tile.route} />
          </span>
          <span class="tile-label">{t(tile.label)}</span>
          <span class="tile-hint">{t(tile.hint)}</span>
        </button>
      ))}
    </nav>
  );
}
