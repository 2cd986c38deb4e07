import { useEffect, useRef, useState } from 'preact/hooks';
import { type Page, type Payment, q } from '../../shared/api';
import { Button, ErrorBox } from '../../shared/components';
import { formatFen } from '../../shared/money';
import { dayIn, formatDateTime } from '../../shared/time';
import { useOffice } from '../app-context';
import { CsvButton, PageHead, StatusBadge } from '../components/common';
import {
  apiQuery,
  checkFilters,
  FIELDS,
  type Field,
  type Filters,
  filtersOf,
} from '../components/OrderFilters';
import { type MessageKey, useI18n } from '../i18n';

const PAGE_SIZE = 50;

/**
 * 订单管理: payments found by order number, merchant-day range, amount range (yuan), card last
 * four and the consumer's phone (the API searches the phone by its keyed hash). The search is in
 * the URL; the results page by cursor; a row opens the order.
 */
export function OrdersPage({ query }: { query: URLSearchParams }) {
  const { api, timeZone, go } = useOffice();
  const { t, lang } = useI18n();
  const applied = filtersOf(query);
  const appliedKey = FIELDS.map((f) => applied[f]).join('|');
  const [draft, setDraft] = useState<Filters>(applied);
  const [problems, setProblems] = useState<Partial<Record<Field, MessageKey>>>({});
  const [rows, setRows] = useState<Payment[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [state, setState] = useState<{ loading: boolean; error: unknown }>({ loading: true, error: null });

  const wrong = checkFilters(applied);
  const search = Object.keys(wrong).length === 0 ? q(apiQuery(applied, timeZone)) : null;

  // The URL changed (a search, the back button, a link): the fields show it and the list follows.
  useEffect(() => {
    setDraft(applied);
    setProblems(wrong);
    if (search === null) {
      setRows([]);
      setCursor(null);
      setState({ loading: false, error: null });
      return;
    }
    let live = true;
    setState({ loading: true, error: null });
    api.get<Page<Payment>>(`/v1/payments${q({ ...apiQuery(applied, timeZone), limit: PAGE_SIZE })}`).then(
      (page) => {
        if (!live) return;
        setRows(page.data);
        setCursor(page.hasMore ? page.nextCursor : null);
        setState({ loading: false, error: null });
      },
      (error: unknown) => live && setState({ loading: false, error }),
    );
    return () => {
      live = false;
    };
  }, [appliedKey, timeZone]);

  // A page asked for by "more" is dropped if the search changed while it came.
  const current = useRef(search);
  current.current = search;
  const more = async () => {
    if (!cursor || search === null) return;
    const asked = search;
    setState({ loading: true, error: null });
    try {
      const page = await api.get<Page<Payment>>(
        `/v1/payments${q({ ...apiQuery(applied, timeZone), cursor, limit: PAGE_SIZE })}`,
      );
      if (current.current !== asked) return;
      setRows((r) => [...r, ...page.data]);
      setCursor(page.hasMore ? page.nextCursor : null);
      setState({ loading: false, error: null });
    } catch (error) {
      setState({ loading: false, error });
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const cleaned = Object.fromEntries(FIELDS.map((f) => [f, draft[f].trim()])) as Filters;
    const found = checkFilters(cleaned);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    go(`orders${q(cleaned)}`);
  };

  const field = (name: Field, label: MessageKey, props: Record<string, unknown> = {}) => (
    <label class={problems[name] ? 'orders-field has-problem' : 'orders-field'}>
      {t(label)}
      <input
        name={name}
        class={name === 'orderNo' ? 'orders-input-wide' : 'orders-input'}
        data-testid={`filter-${name}`}
        value={draft[name]}
        autoComplete="off"
        aria-invalid={problems[name] ? 'true' : undefined}
        onInput={(e) => {
          const v = e.currentTarget.value;
          setDraft((d) => ({ ...d, [name]: v }));
          setProblems(({ [name]: _gone, ...rest }) => rest);
        }}
        {...props}
      />
      {problems[name] ? <span class="field-problem">{t(problems[name])}</span> : null}
    </label>
  );

  return (
    <section class="orders-page">
      <PageHead title={t('ordersTitle')}>
        {search !== null ? (
          <CsvButton
            path={`/v1/exports/payments.csv${search}`}
            filename={`payments-${dayIn(timeZone)}.csv`}
          />
        ) : null}
      </PageHead>
      <form class="filters orders-filters panel" onSubmit={submit} data-testid="orders-search">
        {field('orderNo', 'orderNo', { maxLength: 64 })}
        {field('from', 'from', { type: 'date' })}
        {field('to', 'to', { type: 'date' })}
        {field('amountMin', 'amountMinYuan', { inputMode: 'decimal', maxLength: 16, placeholder: '0.00' })}
        {field('amountMax', 'amountMaxYuan', { inputMode: 'decimal', maxLength: 16, placeholder: '0.00' })}
        {field('last4', 'last4', { inputMode: 'numeric', maxLength: 4 })}
        {field('phone', 'phone', { inputMode: 'tel', maxLength: 32 })}
        <div class="actions">
          <Button variant="primary" type="submit" data-testid="search">
            {t('search')}
          </Button>
          <Button
            data-testid="clear-filters"
            onClick={() => {
              setDraft(filtersOf(new URLSearchParams()));
              setProblems({});
              go('orders');
            }}
          >
            {t('clear')}
          </Button>
        </div>
      </form>
      <ErrorBox error={state.error} />
      <table class="grid" data-testid="orders">
        <thead>
          <tr>
            <th>{t('orderNo')}</th>
            <th>{t('timeCol')}</th>
            <th>{t('methodCol')}</th>
            <th class="num">{t('amount')}</th>
            <th class="num">{t('refunded')}</th>
            <th>{t('statusCol')}</th>
            <th>{t('settled')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => {
            const open = () => go(`orders/${encodeURIComponent(p.orderNo)}`);
            return (
              <tr
                key={p.id}
                data-testid="order-row"
                data-order={p.orderNo}
                tabIndex={0}
                onClick={open}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') open();
                }}
              >
                <td>
                  {p.orderNo}
                  {p.kind === 'charge' ? <span class="muted"> · {t('kind.charge')}</span> : null}
                </td>
                <td>{formatDateTime(p.capturedAt, timeZone, lang)}</td>
                <td>
                  {t(`method.${p.method}`)}
                  {p.card ? ` ****${p.card.last4}` : ''}
                </td>
                <td class="num">{formatFen(p.amount)}</td>
                <td class="num">{formatFen(p.refundedAmount)}</td>
                <td>
                  <StatusBadge prefix="pay" value={p.status} />
                </td>
                <td>{p.settled ? t('yes') : t('no')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length === 0 && !state.loading && !state.error ? <p class="empty">{t('noResults')}</p> : null}
      {state.loading ? <p class="muted">{t('loading')}</p> : null}
      {cursor ? (
        <div class="actions">
          <Button data-testid="load-more" disabled={state.loading} onClick={more}>
            {t('more')}
          </Button>
        </div>
      ) : null}
    </section>
  );
}
