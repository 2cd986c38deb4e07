import { PageHead } from '../components/common';
import { SettlementBatches } from '../components/SettlementBatches';
import { SettlementRecon } from '../components/SettlementRecon';
import { useI18n } from '../i18n';

/**
 * 结算对账 (PRODUCT.md §6): each terminal's closed batches with their totals and the network's
 * agreement, settling a terminal from here; and the reconciliation of the network's settlement
 * file against the ledger, with every mismatch and what to do about it.
 */
export function SettlementPage() {
  const { t } = useI18n();
  return (
    <section class="settlement">
      <PageHead title={t('nav.settlement')} />
      <SettlementBatches />
      <SettlementRecon />
    </section>
  );
}
