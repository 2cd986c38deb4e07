import { useEffect, useState } from 'preact/hooks';
import { type Payment, q, type ReturnCreated, type ReturnInfo } from '../../shared/api';
import { formatFen } from '../../shared/money';
import { dayIn, formatDateTime } from '../../shared/time';
import { useApp } from '../app-context';
import { FindPayment } from '../components/FindPayment';
import { ReturnItems } from '../components/ReturnItems';
import { ReturnQr, type ShownQr } from '../components/ReturnQr';
import { Button, ErrorBox, Steps, useEscape } from '../components/ui';
import { useI18n } from '../i18n';

type Step = 'find' | 'items' | 'qr';
const STEPS = ['stepFind', 'items', 'stepQr'] as const;
const stepIndex: Record<Step, number> = { find: 0, items: 1, qr: 2 };

const QR_STORE_KEY = 'rd.terminal.returnQrs';
/** QRs kept for getting back to them in this tab; older ones are dropped (and expire in minutes). */
const QR_STORE_MAX = 20;
const OPEN_LIST_LIMIT = 50;

type Kept = Record<string, ShownQr & { expiresAt: string }>;

function keptQrs(): Kept {
  try {
    return JSON.parse(sessionStorage.getItem(QR_STORE_KEY) ?? '{}') as Kept;
  } catch {
    return {};
  }
}

/**
 * Only the answer that created a return has its QR: it is kept in this tab's session storage (as
 * the session is), so the cashier can show an open one again. The link names no personal data.
 */
function keepQr(r: ReturnCreated): void {
  const now = Date.now();
  const kept = Object.entries(keptQrs())
    .filter(([, v]) => Date.parse(v.expiresAt) > now)
    .slice(-(QR_STORE_MAX - 1));
  kept.push([r.id, { url: r.url, qrPng: r.qrPng, expiresAt: r.expiresAt }]);
  try {
    sessionStorage.setItem(QR_STORE_KEY, JSON.stringify(Object.fromEntries(kept)));
  } catch {
    // storage full or off: the QR is shown now, just not again after leaving the screen
  }
}

function keptQr(id: string): ShownQr | null {
  const v = keptQrs()[id];
  return v ? { url: v.url, qrPng: v.qrPng } : null;
}

interface Shown {
  ret: ReturnInfo;
  qr: ShownQr | null;
  skewMs: number;
}

/**
 * 扫码退货 (PRODUCT.md §5): the original sale (order number or receipt scan) → the returned lines →
 * the return QR for the consumer's phone, followed live until the consumer submits it; or back to
 * one of this terminal's open QRs of today.
 */
export function ReturnsScreen() {
  const { go } = useApp();
  const { t } = useI18n();
  const [step, setStep] = useState<Step>('find');
  const [payment, setPayment] = useState<Payment | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  // On the QR, Esc belongs to its dialogs (slip, withdraw): leaving is a button, not a stray key.
  useEscape(step === 'items' ? () => setStep('find') : step === 'find' ? () => go({ name: 'home' }) : null);

  const onCreated = (created: ReturnCreated) => {
    keepQr(created);
    // The countdown runs on the server's clock: how far this terminal's is off, from the answer.
    const skewMs = Date.parse(created.createdAt) - Date.now();
    setShown({ ret: created, qr: { url: created.url, qrPng: created.qrPng }, skewMs });
    setStep('qr');
  };

  return (
    <div class="flow">
      <Steps steps={[...STEPS]} current={stepIndex[step]} />
      {step === 'find' ? (
        <div class="two-col">
          <div>
            <h2>{t('findTitle')}</h2>
            <FindPayment
              onPick={(p) => {
                setPayment(p);
                setStep('items');
              }}
            />
          </div>
          <OpenReturns
            onOpen={(ret) => {
              setShown({ ret, qr: keptQr(ret.id), skewMs: 0 });
              setStep('qr');
            }}
          />
        </div>
      ) : null}
      {step === 'items' && payment ? <ReturnItems payment={payment} onCreated={onCreated} /> : null}
      {step === 'qr' && shown ? (
        <ReturnQr
          initial={shown.ret}
          qr={shown.qr}
          skewMs={shown.skewMs}
          actions={
            <>
              <Button data-testid="new-return" onClick={() => go({ name: 'returns' })}>
                {t('newReturn')}
              </Button>
              <Button onClick={() => go({ name: 'home' })}>{t('home')}</Button>
            </>
          }
        />
      ) : null}
    </div>
  );
}

/** This terminal's return QRs of today (the merchant's day) that still wait for the consumer. */
function OpenReturns({ onOpen }: { onOpen: (ret: ReturnInfo) => void }) {
  const { api, session, merchant } = useApp();
  const { t, lang } = useI18n();
  const [list, setList] = useState<ReturnInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    api
      .get<{ data: ReturnInfo[] }>(`/v1/returns${q({ status: 'open', limit: OPEN_LIST_LIMIT })}`)
      .then((page) => {
        if (!live) return;
        const today = dayIn(merchant.timeZone);
        setList(
          page.data.filter(
            (r) =>
              r.terminalId === session.terminalId &&
              dayIn(merchant.timeZone, new Date(r.createdAt)) === today,
          ),
        );
      })
      .catch((err) => {
        if (!live) return;
        setList([]);
        setError(err);
      });
    return () => {
      live = false;
    };
  }, [api, session.terminalId, merchant.timeZone]);

  return (
    <div>
      <h3>{t('openReturns')}</h3>
      <ErrorBox error={error} />
      {list === null ? <p class="muted">{t('loading')}</p> : null}
      {list && list.length === 0 ? <p class="muted">{t('noOpenReturns')}</p> : null}
      <div class="rows" data-testid="open-returns">
        {(list ?? []).map((r) => (
          <button key={r.id} type="button" class="row-button" data-return={r.id} onClick={() => onOpen(r)}>
            <span class="row-main">
              <strong>{r.orderNo}</strong>
              <span class="muted">
                {r.items.map((i) => `${i.name} × ${i.qty}`).join('，')}
                {' · '}
                {t('returnExpiresAt')} {formatDateTime(r.expiresAt, merchant.timeZone, lang)}
              </span>
            </span>
            <span class="row-side">
              <span class="amount">{formatFen(r.amount)}</span>
            </span>
          </button>
        ))}
      </div>
    </div>
  );
}
