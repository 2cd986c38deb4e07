import { PageHead } from '../components/common';
import { PeopleApiKeys } from '../components/PeopleApiKeys';
import { PeopleOperators } from '../components/PeopleOperators';
import { useI18n } from '../i18n';

/**
 * 人员管理 (admins; main.tsx keeps supervisors out): the merchant's operators — add, rename,
 * change role, disable or enable, reset a password, unlock — and the API keys of its systems
 * (create, shown once; revoke). Every change is one audited API call.
 */
export function PeoplePage() {
  const { t } = useI18n();
  return (
    <section class="people">
      <PageHead title={t('nav.people')} />
      <PeopleOperators />
      <PeopleApiKeys />
    </section>
  );
}
