import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { problemTable } from '../../src/api/errors.js';
import { testPan } from '../../src/demo.js';
import { call, startTestSystem, type TestSystem } from '../support/system.js';
import { type Claims, checkAll, drain, type ReturnClaim } from './checks.js';
import { type ApprovalPlan, type Op, type SaleMethod, type Step, schedule } from './schedule.js';

/** ¥100,000,000: a daily cap the simulation's refunds never reach. */
const SIM_DAILY_LIMIT_MINOR = 10_000_000_000;

/**
 * The deterministic simulation (issue 8, in the spirit of TigerBeetle's VOPR): one seed draws a
 * schedule of sales, refunds, voids, cancels, adjustments, races of those on one payment, worker
 * outages, whole-system restarts and network fault windows; it runs against the real service with
 * the bundled card host and wallet simulators; afterwards the store and the network's books must
 * agree to the fen (see checks.ts). Real I/O decides the interleavings, so a replay of a seed is
 * the same schedule, not necessarily the same interleaving: the trace says what happened.
 */

export interface SimOptions {
  seed: number;
  steps: number;
  /** A fresh, empty store (sqlite:… or postgres://…). */
  storeUrl: string;
  /** Steps running at once. */
  lanes?: number;
  /** How long the drain after the run may take before what is left counts as stuck. */
  drainTimeoutMs?: number;
  restarts?: boolean;
  /** Progress lines (the trace is returned either way). */
  log?: (line: string) => void;
  /** Runs after the drain, before the checks: the test that proves each check can fail breaks the books here. */
  beforeChecks?: (sys: TestSystem) => Promise<void>;
}

export interface SimResult {
  seed: number;
  steps: number;
  violations: string[];
  trace: string[];
  stats: Record<string, number>;
  elapsedMs: number;
}

const PAN = testPan('622202100003333');
const SUPERVISOR = { operatorNo: '00', password: '123456' };
const SUPERVISOR2 = { operatorNo: '02', password: '222222' };
/** PRODUCT.md §9: the default large-refund threshold (two supervisors at or above it). */
const LARGE_REFUND_MINOR = 500_000;
const RECENT = 12;

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field and judged in checks
type Body = any;
interface Answer {
  status: number;
  body: Body;
}
interface PaymentModel {
  id: string;
  orderNo: string;
  method: SaleMethod;
  amount: number;
  items: boolean;
}
interface RefundModel {
  id: string;
  paymentId: string;
  amount: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** An answer in a trace line: status, and the problem code or the resource's status. */
const brief = (r: Answer) =>
  `${r.status}${r.body?.code ? ` ${r.body.code}` : r.body?.status ? ` ${r.body.status}` : ''}`;

class Sim {
  sys!: TestSystem;
  control = '';
  tokens = { cashier: '', supervisor: '', admin: '' };
  readonly trace: string[] = [];
  readonly violations: string[] = [];
  readonly stats: Record<string, number> = {};
  readonly payments: PaymentModel[] = [];
  readonly refunds: RefundModel[] = [];
  readonly claims: Claims & { returns: Map<string, ReturnClaim> } = {
    canceled: new Map(),
    voided: new Map(),
    refunds: new Map(),
    payments: new Map(),
    sameKey: [],
    returns: new Map(),
  };
  private readonly background = new Set<Promise<unknown>>();
  private keyCounter = 0;
  private orderCounter = 0;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'refund-desk-sim-'));

  constructor(readonly opts: SimOptions) {}

  async start(): Promise<void> {
    this.sys = await startTestSystem(this.opts.storeUrl, {
      network: 'sim',
      dataDir: this.dataDir,
      networkDelayMs: 20,
      networkTimeoutMs: 1_000,
      workerBackoffMs: 100,
      workerLeaseMs: 5_000,
      // The consumer's routes share one client address here; their limit has a test of its own.
      consumerPerMinute: 100_000,
    });
    this.control = `http://127.0.0.1:${this.sys.simulator?.controlPort}`;
    const signIn = async (operatorNo: string, password: string) => {
      const r = await call(this.sys.base, 'POST', '/v1/sessions', {
        terminalId: 'T0000001',
        operatorNo,
        password,
      });
      if (r.status !== 201) throw new Error(`sign-in ${operatorNo}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token as string;
    };
    this.tokens = {
      cashier: await signIn('01', '1111'),
      supervisor: await signIn('00', '123456'),
      admin: await signIn('99', '12345678'),
    };
    await this.raiseDailyLimit();
  }

  /**
   * The demo's daily refund cap (¥200,000) is reached after a few thousand steps, and from then on
   * almost every refund is refused: a long run would explore nothing. Raise it once per store.
   */
  private async raiseDailyLimit(): Promise<void> {
    const auth = { authorization: `Bearer ${this.tokens.admin}` };
    const policy = (await call(this.sys.base, 'GET', '/v1/policy', undefined, auth)).body;
    if (policy.dailyRefundLimit >= SIM_DAILY_LIMIT_MINOR) return;
    const r = await call(
      this.sys.base,
      'PUT',
      '/v1/policy',
      { ...policy, dailyRefundLimit: SIM_DAILY_LIMIT_MINOR },
      { ...auth, 'idempotency-key': `sim-policy-${Date.now()}` },
    );
    if (r.status !== 200) throw new Error(`policy: ${r.status} ${JSON.stringify(r.body)}`);
  }

  note(line: string): void {
    this.trace.push(line);
    this.opts.log?.(line);
  }

  count(what: string): void {
    this.stats[what] = (this.stats[what] ?? 0) + 1;
  }

  /** One API call; every answer is judged against the documented statuses (check e). */
  async api(
    step: number,
    who: keyof Sim['tokens'],
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<Answer> {
    return this.judged(step, method, path, body, { authorization: `Bearer ${this.tokens[who]}` }, key);
  }

  /** A consumer's request (issue 12): no sign-in, the link in the path is the only key. */
  consumer(step: number, method: string, path: string, body?: unknown): Promise<Answer> {
    return this.judged(step, method, path, body, {});
  }

  private async judged(
    step: number,
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    key?: string,
  ): Promise<Answer> {
    if (method === 'POST')
      headers['idempotency-key'] = key ?? `sim-${this.opts.seed}-${step}-${this.keyCounter++}`;
    let r: Answer & { headers: Headers };
    try {
      r = await call(this.sys.base, method, path, body, headers);
    } catch (err) {
      this.violations.push(`(e) #${step} ${method} ${path}: no answer (${(err as Error).message})`);
      return { status: 0, body: null };
    }
    this.count(`http ${r.status}${r.body?.code ? ` ${r.body.code}` : ''}`);
    const bad = undocumented(r.status, r.body, r.headers.get('content-type') ?? '');
    if (bad) this.violations.push(`(e) #${step} ${method} ${path} → ${bad}`);
    return { status: r.status, body: r.body };
  }

  private recent<T>(list: T[], pick: number): T | undefined {
    if (list.length === 0) return undefined;
    const window = Math.min(RECENT, list.length);
    return list[list.length - window + Math.floor(pick * window)];
  }

  private approvalsFor(amount: number, plan: ApprovalPlan) {
    if (plan === 'none') return undefined;
    if (plan === 'one') return [SUPERVISOR];
    return amount >= LARGE_REFUND_MINOR ? [SUPERVISOR, SUPERVISOR2] : [SUPERVISOR];
  }

  private nextOrderNo(step: number): string {
    return `SIM-${this.opts.seed}-${step}-${this.orderCounter++}`;
  }

  private saleBody(orderNo: string, method: SaleMethod, amount: number, items: boolean, currency = 'CNY') {
    const unit = Math.floor(amount / 4);
    return {
      orderNo,
      amount,
      currency,
      method,
      ...(method === 'card' ? { card: { pan: PAN, expiry: '2912' } } : {}),
      ...(items && unit > 0
        ? {
            items: [
              { sku: 'A', name: 'item A', qty: 1, unitAmount: amount - 2 * unit },
              { sku: 'B', name: 'item B', qty: 2, unitAmount: unit },
            ],
          }
        : {}),
    };
  }

  private async sale(step: number, body: ReturnType<Sim['saleBody']>, key?: string): Promise<Answer> {
    const r = await this.api(step, 'cashier', 'POST', '/v1/payments', body, key);
    if (r.status === 201) {
      const p: PaymentModel = {
        id: r.body.id,
        orderNo: body.orderNo,
        method: body.method,
        amount: body.amount,
        items: Boolean(body.items),
      };
      this.payments.push(p);
      this.claims.payments.set(p.id, { amount: p.amount, orderNo: p.orderNo, step });
    }
    return r;
  }

  private async refund(
    step: number,
    p: PaymentModel,
    amount: number | undefined,
    plan: ApprovalPlan,
    byItems = false,
    key?: string,
  ): Promise<Answer> {
    const body = {
      paymentId: p.id,
      ...(byItems && p.items ? { items: [{ sku: 'B', qty: 1 }] } : amount !== undefined ? { amount } : {}),
      reason: { code: 'quality_issue' },
      ...(this.approvalsFor(amount ?? p.amount, plan)
        ? { approvals: this.approvalsFor(amount ?? p.amount, plan) }
        : {}),
    };
    const r = await this.api(step, 'cashier', 'POST', '/v1/refunds', body, key);
    if (r.status === 201) {
      const known = this.claims.refunds.get(r.body.id);
      if (!known) this.refunds.push({ id: r.body.id, paymentId: p.id, amount: r.body.amount });
      this.claims.refunds.set(r.body.id, { amount: r.body.amount, paymentId: p.id, step });
    }
    return r;
  }

  private async cancel(step: number, refundId: string): Promise<Answer> {
    const r = await this.api(step, 'supervisor', 'POST', `/v1/refunds/${refundId}/cancel`, { note: 'sim' });
    if (r.status === 200 && r.body?.status === 'canceled') this.claims.canceled.set(refundId, step);
    return r;
  }

  private async approve(step: number, refund: RefundModel): Promise<Answer> {
    return this.api(step, 'supervisor', 'POST', `/v1/refunds/${refund.id}/approve`, {
      approvals: this.approvalsFor(refund.amount, 'policy'),
    });
  }

  private async voidPayment(step: number, p: PaymentModel): Promise<Answer> {
    const r = await this.api(step, 'cashier', 'POST', `/v1/payments/${p.id}/void`, {
      approvals: [SUPERVISOR],
    });
    if (r.status === 200 && r.body?.status === 'voided') this.claims.voided.set(p.id, step);
    return r;
  }

  private async adjust(step: number, orderNo: string, current: number, delta: number): Promise<Answer> {
    const r = await this.api(
      step,
      'cashier',
      'POST',
      `/v1/orders/${encodeURIComponent(orderNo)}/adjustments`,
      {
        originalAmount: current,
        newAmount: Math.max(0, current + delta),
        reason: { code: 'transaction_error' },
        approvals: [SUPERVISOR],
      },
    );
    if (r.status === 201) {
      const charge = r.body.charge;
      if (charge?.id) {
        const origin = this.payments.find((x) => x.orderNo === orderNo);
        const p: PaymentModel = {
          id: charge.id,
          orderNo,
          method: origin?.method ?? 'qr',
          amount: charge.amount,
          items: false,
        };
        this.payments.push(p);
        this.claims.payments.set(p.id, { amount: p.amount, orderNo, step });
      }
      const refund = r.body.refund;
      if (refund?.id) {
        this.refunds.push({ id: refund.id, paymentId: refund.paymentId, amount: refund.amount });
        this.claims.refunds.set(refund.id, { amount: refund.amount, paymentId: refund.paymentId, step });
      }
    }
    return r;
  }

  private share(p: PaymentModel, share: number): number {
    return Math.max(1, Math.floor(p.amount * share));
  }

  /** Run one step; returns its trace line. */
  async run(step: Step): Promise<string> {
    const { n, op } = step;
    const s = brief;
    switch (op.kind) {
      case 'sale': {
        const r = await this.sale(
          n,
          this.saleBody(this.nextOrderNo(n), op.method, op.amount, op.items, op.currency),
        );
        return `sale ${op.method} ${op.amount} ${op.currency} → ${s(r)} ${r.body?.id ?? ''}`;
      }
      case 'refund': {
        const p = this.recent(this.payments, op.payment);
        if (!p) return 'refund: no payment yet';
        const amount = op.share === 'full' ? undefined : this.share(p, op.share);
        const r = await this.refund(n, p, amount, op.approvals, op.byItems);
        return `refund ${p.id} ${amount ?? 'full'} ${op.approvals}${op.byItems ? ' items' : ''} → ${s(r)} ${r.body?.id ?? ''}`;
      }
      case 'approve': {
        const f = this.recent(this.refunds, op.refund);
        if (!f) return 'approve: no refund yet';
        return `approve ${f.id} → ${s(await this.approve(n, f))}`;
      }
      case 'cancel': {
        const f = this.recent(this.refunds, op.refund);
        if (!f) return 'cancel: no refund yet';
        return `cancel ${f.id} → ${s(await this.cancel(n, f.id))}`;
      }
      case 'void': {
        const p = this.recent(this.payments, op.payment);
        if (!p) return 'void: no payment yet';
        return `void ${p.id} → ${s(await this.voidPayment(n, p))}`;
      }
      case 'adjust': {
        const p = this.recent(this.payments, op.order);
        if (!p) return 'adjust: no order yet';
        const order = await this.api(n, 'cashier', 'GET', `/v1/orders/${encodeURIComponent(p.orderNo)}`);
        if (order.status !== 200) return `adjust ${p.orderNo}: order → ${s(order)}`;
        const current = order.body.currentAmount as number;
        const r = await this.adjust(n, p.orderNo, current, op.delta);
        return `adjust ${p.orderNo} (${p.method}) ${current}→${Math.max(0, current + op.delta)} → ${s(r)}`;
      }
      case 'refund_then_cancel': {
        const p = this.recent(this.payments, op.payment);
        if (!p) return 'refund_then_cancel: no payment yet';
        const r = await this.refund(n, p, this.share(p, op.share), 'policy');
        if (r.status !== 201) return `refund_then_cancel ${p.id}: refund → ${s(r)}`;
        await sleep(op.gapMs);
        const c = await this.cancel(n, r.body.id);
        return `refund_then_cancel ${p.id} ${this.share(p, op.share)} → ${s(r)} ${r.body.id}; +${op.gapMs}ms cancel → ${s(c)}`;
      }
      case 'approve_vs_cancel': {
        const p = this.recent(this.payments, op.payment);
        if (!p) return 'approve_vs_cancel: no payment yet';
        const r = await this.refund(n, p, this.share(p, op.share), 'none');
        if (r.status !== 201) return `approve_vs_cancel ${p.id}: refund → ${s(r)}`;
        const f: RefundModel = { id: r.body.id, paymentId: p.id, amount: r.body.amount };
        const first = op.cancelFirst ? () => this.cancel(n, f.id) : () => this.approve(n, f);
        const second = op.cancelFirst ? () => this.approve(n, f) : () => this.cancel(n, f.id);
        const [a, b] = await Promise.all([first(), sleep(op.gapMs).then(second)]);
        return `approve_vs_cancel ${f.id} ${op.cancelFirst ? 'cancel' : 'approve'} → ${s(a)}; +${op.gapMs}ms ${op.cancelFirst ? 'approve' : 'cancel'} → ${s(b)}`;
      }
      case 'void_vs_refund': {
        const p = this.recent(this.payments, op.payment);
        if (!p) return 'void_vs_refund: no payment yet';
        const first = op.voidFirst
          ? () => this.voidPayment(n, p)
          : () => this.refund(n, p, this.share(p, op.share), 'policy');
        const second = op.voidFirst
          ? () => this.refund(n, p, this.share(p, op.share), 'policy')
          : () => this.voidPayment(n, p);
        const [a, b] = await Promise.all([first(), sleep(op.gapMs).then(second)]);
        return `void_vs_refund ${p.id} ${op.voidFirst ? 'void' : 'refund'} → ${s(a)}; +${op.gapMs}ms ${op.voidFirst ? 'refund' : 'void'} → ${s(b)}`;
      }
      case 'same_order_sales': {
        const orderNo = this.nextOrderNo(n);
        const rs = await Promise.all(
          Array.from({ length: op.n }, (_, i) =>
            sleep(i * 3).then(() =>
              this.sale(
                n,
                this.saleBody(orderNo, op.method, op.amount, false, i === op.usdAt ? 'USD' : 'CNY'),
              ),
            ),
          ),
        );
        const created = rs.filter((r) => r.status === 201);
        if (created.length > 1)
          this.violations.push(
            `(f) #${n} ${op.n} parallel sales of order ${orderNo}: ${created.length} answered 201 (${created.map((r) => r.body.id).join(', ')})`,
          );
        return `same_order_sales ${orderNo} ${op.method} ${op.amount} ×${op.n}${op.usdAt >= 0 ? ` (USD at ${op.usdAt})` : ''} → ${rs.map(s).join(', ')}`;
      }
      case 'parallel_adjust': {
        const p = this.recent(this.payments, op.order);
        if (!p) return 'parallel_adjust: no order yet';
        const order = await this.api(n, 'cashier', 'GET', `/v1/orders/${encodeURIComponent(p.orderNo)}`);
        if (order.status !== 200) return `parallel_adjust ${p.orderNo}: order → ${s(order)}`;
        const current = order.body.currentAmount as number;
        const rs = await Promise.all(op.deltas.map((d) => this.adjust(n, p.orderNo, current, d)));
        return `parallel_adjust ${p.orderNo} (${p.method}) from ${current} by ${op.deltas.join('/')} → ${rs.map(s).join(', ')}`;
      }
      case 'parallel_refunds': {
        const p = this.recent(this.payments, op.payment);
        if (!p) return 'parallel_refunds: no payment yet';
        const rs = await Promise.all(op.shares.map((x) => this.refund(n, p, this.share(p, x), 'policy')));
        return `parallel_refunds ${p.id} ${op.shares.map((x) => this.share(p, x)).join('/')} of ${p.amount} → ${rs.map(s).join(', ')}`;
      }
      case 'same_key_refund': {
        const p = this.recent(this.payments, op.payment);
        if (!p) return 'same_key_refund: no payment yet';
        const key = `sim-${this.opts.seed}-${n}-same`;
        const amount = this.share(p, op.share);
        const rs = await Promise.all(
          Array.from({ length: op.n }, () => this.refund(n, p, amount, 'policy', false, key)),
        );
        rs.push(await this.refund(n, p, amount, 'policy', false, key));
        this.claims.sameKey.push({
          step: n,
          key,
          ids: rs.filter((r) => r.status === 201).map((r) => r.body.id),
        });
        return `same_key_refund ${p.id} ${amount} ×${op.n}+1 → ${rs.map(s).join(', ')}`;
      }
      case 'qr_return':
        return this.qrReturn(n, op);
      case 'worker_down': {
        const worker = this.sys.worker;
        if (!worker) return 'worker_down: no worker';
        const job = (async () => {
          await worker.stop();
          await sleep(op.ms);
          if (this.sys.worker === worker) worker.start();
        })();
        this.hold(job);
        return `worker down for ${op.ms} ms`;
      }
      case 'faults': {
        const control = this.control;
        const set = await call(control, 'PUT', '/faults', { delayMs: op.delayMs, dropRate: op.dropRate });
        const job = sleep(op.ms).then(() =>
          call(control, 'PUT', '/faults', { delayMs: 0, dropRate: 0 }).catch(() => undefined),
        );
        this.hold(job);
        return `faults delay ${op.delayMs} ms drop ${op.dropRate} for ${op.ms} ms → ${set.status}`;
      }
      case 'restart':
        throw new Error('restart is run as a barrier');
    }
  }

  /**
   * A QR return's life (issue 12): shown for one unit of a recent itemised sale, then submitted
   * (maybe twice at once), withdrawn, left to expire or withdrawn while being submitted; once
   * submitted, inspected and maybe approved. Its refund joins the others, so later approve and
   * cancel steps may pick it too. Every answer is claimed for the checks (g).
   */
  private async qrReturn(n: number, op: Extract<Op, { kind: 'qr_return' }>): Promise<string> {
    const p = this.recent(
      this.payments.filter((x) => x.items),
      op.payment,
    );
    if (!p) return 'qr_return: no itemised sale yet';
    const shown = await this.api(n, 'cashier', 'POST', '/v1/returns', {
      orderNo: p.orderNo,
      items: [{ sku: op.sku, qty: 1 }],
    });
    const head = `qr_return ${p.id} ${op.sku} ${op.end}`;
    if (shown.status !== 201) return `${head} → ${brief(shown)}`;
    const id = shown.body.id as string;
    const token = new URL(shown.body.url as string).pathname.split('/')[2] ?? '';
    const claim: ReturnClaim = { paymentId: p.id, step: n, refundIds: [], withdrawn: false, expired: false };
    this.claims.returns.set(id, claim);
    const amount = shown.body.amount as number;
    const submit = () => this.submitReturn(n, token, claim, p, amount);
    const withdraw = () => this.withdrawReturn(n, id, claim);
    const trace = [`${head} → 201 ${id}`];
    if (op.gapMs) await sleep(op.gapMs);
    switch (op.end) {
      case 'leave':
        return trace.join('; ');
      case 'withdraw':
        trace.push(`withdraw → ${brief(await withdraw())}`, `late submit → ${brief(await submit())}`);
        return trace.join('; ');
      case 'expire': {
        // Time passes for this return only: its row's expiry, which decides, moves into the past.
        const aged = await this.sys.ctx.store.db
          .updateTable('returns')
          .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
          .where('id', '=', id)
          .where('status', '=', 'open')
          .executeTakeFirst();
        claim.expired = Number(aged.numUpdatedRows) === 1;
        trace.push(`expired ${claim.expired}`, `late submit → ${brief(await submit())}`);
        return trace.join('; ');
      }
      case 'withdraw_vs_submit': {
        const [w, sub] = await Promise.all([withdraw(), submit()]);
        trace.push(`withdraw → ${brief(w)} | submit → ${brief(sub)}`);
        break;
      }
      case 'submit': {
        const subs = await Promise.all(op.doubleSubmit ? [submit(), submit()] : [submit()]);
        trace.push(`submit ×${subs.length} → ${subs.map(brief).join(', ')}`);
        break;
      }
    }
    const refundId = claim.refundIds[0];
    if (!refundId || op.inspection === 'none') return trace.join('; ');
    const inspected = await this.api(n, 'supervisor', 'POST', `/v1/returns/${id}/inspection`, {
      result: op.inspection,
      ...(op.inspection === 'rejected' ? { note: 'sim: not as sold' } : {}),
    });
    trace.push(`inspection ${op.inspection} → ${brief(inspected)}`);
    if (inspected.status !== 200 || op.inspection !== 'accepted' || !op.approve) return trace.join('; ');
    const approved = await this.api(n, 'supervisor', 'POST', `/v1/refunds/${refundId}/approve`, {
      approvals: this.approvalsFor(amount, 'policy'),
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'intact' },
    });
    trace.push(`approve ${refundId} → ${brief(approved)}`);
    return trace.join('; ');
  }

  private async submitReturn(
    n: number,
    token: string,
    claim: ReturnClaim,
    p: PaymentModel,
    amount: number,
  ): Promise<Answer> {
    const r = await this.consumer(n, 'POST', `/v1/consumer/returns/${token}/submit`, {
      reason: { code: 'quality_issue' },
      contact: { phone: '13800138000' },
      lang: 'zh-CN',
    });
    if (r.status === 201) {
      const id = r.body.refundId as string;
      claim.refundIds.push(id);
      if (!this.claims.refunds.has(id)) this.refunds.push({ id, paymentId: p.id, amount });
      this.claims.refunds.set(id, { amount, paymentId: p.id, step: n });
    }
    return r;
  }

  private async withdrawReturn(n: number, id: string, claim: ReturnClaim): Promise<Answer> {
    const r = await this.api(n, 'cashier', 'POST', `/v1/returns/${id}/cancel`);
    if (r.status === 200 && r.body?.status === 'canceled') claim.withdrawn = true;
    return r;
  }

  hold(job: Promise<unknown>): void {
    this.background.add(job);
    void job.finally(() => this.background.delete(job));
  }

  async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  async restart(): Promise<void> {
    await this.settleBackground();
    await this.sys.close();
    await this.start();
  }

  async close(): Promise<void> {
    await this.settleBackground();
    await this.sys?.close();
  }
}

/** What is not a documented answer: 5xx other than 503 network_unavailable, unknown codes, wrong status. */
export function undocumented(status: number, body: Body, contentType: string): string | null {
  if (status === 200 || status === 201) return null;
  const code = body?.code as string | undefined;
  const row = code ? problemTable[code as keyof typeof problemTable] : undefined;
  if (!row) return `${status} with undocumented code ${code}: ${JSON.stringify(body)}`;
  if (row.status !== status) return `${status} but ${code} is documented as ${row.status}`;
  if (!contentType.startsWith('application/problem+json')) return `${status} ${code} as ${contentType}`;
  if (status >= 500 && !(status === 503 && code === 'network_unavailable'))
    return `${status} ${code}: ${body?.detail}`;
  return null;
}

export async function runSimulation(opts: SimOptions): Promise<SimResult> {
  const started = Date.now();
  const lanes = opts.lanes ?? 3;
  const plan = schedule(opts.seed, opts.steps, { restarts: opts.restarts ?? true });
  const sim = new Sim(opts);
  await sim.start();
  try {
    const inflight = new Set<Promise<void>>();
    const launch = (step: Step) => {
      const started = Date.now();
      const p = sim
        .run(step)
        .then((line) => sim.note(`#${step.n} [${Date.now() - started} ms] ${line}`))
        .catch((err) => {
          sim.violations.push(`#${step.n} ${step.op.kind} threw: ${(err as Error).stack ?? err}`);
          sim.note(`#${step.n} ${step.op.kind} threw ${(err as Error).message}`);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    };
    for (const step of plan) {
      sim.count(`op ${step.op.kind}`);
      if (step.gapMs) await sleep(step.gapMs);
      if (step.op.kind === 'restart') {
        await Promise.all([...inflight]);
        await sim.restart();
        sim.note(`#${step.n} restart (same store, same network books)`);
        continue;
      }
      while (inflight.size >= lanes) await Promise.race([...inflight]);
      launch(step);
    }
    await Promise.all([...inflight]);
    await sim.settleBackground();
    await call(sim.control, 'PUT', '/faults', { delayMs: 0, dropRate: 0 });
    const drained = await drain(sim.sys, opts.drainTimeoutMs ?? 60_000);
    sim.note(`drain: ${drained.ok ? 'settled' : 'NOT settled'} in ${drained.ms} ms`);
    await opts.beforeChecks?.(sim.sys);
    const found = await checkAll({
      sys: sim.sys,
      control: sim.control,
      claims: sim.claims,
      audit: () => sim.api(-1, 'admin', 'GET', '/v1/audit/verify'),
    });
    sim.violations.push(...found);
  } finally {
    await sim.close();
  }
  return {
    seed: opts.seed,
    steps: opts.steps,
    violations: sim.violations,
    trace: sim.trace,
    stats: sim.stats,
    elapsedMs: Date.now() - started,
  };
}

export type { Op };
