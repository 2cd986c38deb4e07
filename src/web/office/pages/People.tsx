import { PageHead } from '../components/common';
import { useI18n } from '../i18n';

/** Placeholder until the page is built (issue 11). */
export function PeoplePage(_props: Record<string, unknown>) {
  const { t } = useI18n();
  return <PageHead title={t('nav.people')} />;
}
