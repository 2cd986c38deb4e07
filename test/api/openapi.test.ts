import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemTable } from '../../src/api/errors.js';
import * as V from '../../src/api/schemas/responses.js';
import type { ErrorCode } from '../../src/domain/errors.js';
import type { listOutcomes, outcomeFor } from '../../src/domain/outcomes.js';
import type { listReceiptSends, requestReceiptSend } from '../../src/receipts/send.js';
import type { listAudit } from '../../src/service/audit.js';
import type { createApiKey, signIn as serviceSignIn } from '../../src/service/auth.js';
import { authenticate } from '../../src/service/auth.js';
import { getOrder, type recordAdjustment } from '../../src/service/orders.js';
import { getPayment, type listPayments } from '../../src/service/payments.js';
import type { getPolicy } from '../../src/service/policy.js';
import type { getReconciliation, listReconciliations } from '../../src/service/reconciliation.js';
import {
  type approveRefund,
  type createRefund,
  getRefund,
  listRefunds,
  type refundHistory,
  type reviewRefund,
} from '../../src/service/refunds.js';
import type { recordSettlement } from '../../src/service/settlements.js';
import type { verifyAudit } from '../../src/store/audit.js';
import type { deadOutbox } from '../../src/store/outbox.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

const PAN = testPan('622202100001234');
const PROBLEM = 'application/problem+json';

// ---- compile-time: the serializer writes only what the schemas name -----------------------------

/**
 * The paths of the keys a value type has that a schema's type lacks, at any depth: what Fastify's
 * serializer would silently drop. `never` when the schema covers the value.
 */
type Dropped<Value, Schema, Path extends string = ''> = Value extends readonly (infer Item)[]
  ? Schema extends readonly (infer SchemaItem)[]
    ? Dropped<Item, SchemaItem, `${Path}[]`>
    : never
  : Value extends object
    ? string extends keyof Value
      ? never // an open record (masked consumer): its schema is open too, checked at run time below
      : {
          [K in keyof Value & string]-?: K extends keyof NonNullable<Schema>
            ? Dropped<Value[K], NonNullable<NonNullable<Schema>[K]>, `${Path}.${K}`>
            : `${Path}.${K}`;
        }[keyof Value & string]
    : never;

/** Compiles only when `schema` names every key of `View`; the error names the first one missing. */
const covers =
  <View>() =>
  <S extends TSchema>(
    _schema: S,
    ..._dropped: [Dropped<View, Static<S>>] extends [never] ? [] : [dropped: Dropped<View, Static<S>>]
  ) =>
    true;

type Answer<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;
type Item<T extends { data: readonly unknown[] }> = T['data'][number];

// ---- OpenAPI 3.0 → JSON Schema for validating answers ------------------------------------------

type JsonSchema = { [key: string]: unknown };

/** OpenAPI 3.0 says `nullable: true` where JSON Schema says "or null". */
function jsonSchemaOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchemaOf);
  if (typeof schema !== 'object' || schema === null) return schema;
  const { nullable, ...rest } = schema as JsonSchema;
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, jsonSchemaOf(v)]));
  return nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

interface Operation {
  security?: unknown[];
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema: JsonSchema }> } | undefined
  >;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

describe('OpenAPI document and response schemas', () => {
  const sqlite = storeTargets.find((t) => t.name === 'sqlite');
  let sys: TestSystem;
  let doc: OpenApi;
  let cashier: Client;
  let admin: Client;

  beforeAll(async () => {
    if (!sqlite) throw new Error('the SQLite store target is always available');
    sys = await startTestSystem(await sqlite.freshUrl());
    doc = (await call(sys.base, 'GET', '/openapi.json')).body as OpenApi;
    cashier = await signIn(sys.base, '01', '1111');
    admin = await signIn(sys.base, '99', '12345678');
  });
  afterAll(async () => {
    await sys?.close();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })),
    );

  it('documents a schema for every status code of every operation, success and problem+json', () => {
    expect(operations().length).toBeGreaterThan(30);
    for (const { where, op } of operations()) {
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((s) => s.startsWith('2')),
        `${where} documents its success`,
      ).toBe(true);
      expect(statuses, `${where} documents 500`).toContain('500');
      if (op.security === undefined || op.security.length > 0) {
        expect(statuses, `${where} needs a token, so documents 401`).toContain('401');
      }
      for (const [status, response] of Object.entries(op.responses)) {
        const at = `${where} → ${status}`;
        expect(response?.description, at).not.toBe('Default Response');
        if (status === '204') {
          expect(response?.content, at).toBeUndefined();
          continue;
        }
        const media = Object.entries(response?.content ?? {});
        expect(media.length, `${at} has a body schema`).toBeGreaterThan(0);
        for (const [, { schema }] of media) expect(schema, at).toBeTypeOf('object');
        if (Number(status) < 400) continue;
        expect(Object.keys(response?.content ?? {}), at).toEqual([PROBLEM]);
        const schema = response?.content?.[PROBLEM]?.schema;
        expect(schema?.required, at).toEqual(['type', 'title', 'status', 'code', 'detail']);
        expect(schema?.additionalProperties, `${at}: a problem's own facts are kept`).toBe(true);
      }
    }
  });

  it("lists each problem code under the HTTP status that code's problem answers with", () => {
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || status === '413' || status === '415') continue;
        const codes = /code: (.+)$/.exec(response?.description ?? '')?.[1]?.split(' | ') ?? [];
        expect(codes.length, `${where} → ${status} names its codes`).toBeGreaterThan(0);
        for (const code of codes) {
          const expected = code === 'internal_error' ? 500 : problemTable[code as ErrorCode]?.status;
          expect(expected, `${where} → ${status}: ${code}`).toBe(Number(status));
        }
      }
    }
  });

  it('names in its response schemas every field the services return (checked when the suite compiles)', () => {
    expect([
      covers<Answer<typeof getPayment>>()(V.PaymentView),
      covers<Answer<typeof listPayments>>()(V.PaymentPage),
      covers<Answer<typeof createRefund>>()(V.RefundView),
      covers<Answer<typeof approveRefund>>()(V.RefundView),
      covers<Answer<typeof reviewRefund>>()(V.RefundView),
      covers<Answer<typeof getRefund>>()(V.RefundView),
      covers<Answer<typeof listRefunds>>()(V.RefundPage),
      covers<{ data: Answer<typeof refundHistory> }>()(V.RefundEventList),
      covers<Answer<typeof getOrder>>()(V.OrderView),
      covers<Answer<typeof recordAdjustment>>()(V.AdjustmentView),
      covers<Answer<typeof recordSettlement>>()(V.SettlementView),
      covers<Answer<typeof getPolicy>>()(V.PolicyView),
      covers<Answer<typeof verifyAudit>>()(V.AuditVerifyView),
      covers<Answer<typeof listAudit>>()(V.AuditPage),
      covers<{ data: Answer<typeof deadOutbox> }>()(V.DeadOutboxList),
      covers<Answer<typeof serviceSignIn>>()(V.SessionView),
      covers<Answer<typeof createApiKey>>()(V.ApiKeyView),
      covers<Answer<typeof requestReceiptSend>>()(V.ReceiptSendsQueued),
      covers<{ data: Answer<typeof listReceiptSends> }>()(V.ReceiptSendList),
      covers<Answer<typeof getReconciliation>>()(V.ReconciliationView),
      covers<Answer<typeof listReconciliations>>()(V.ReconciliationPage),
      covers<ReturnType<typeof outcomeFor>>()(V.OutcomeView),
      covers<{ data: ReturnType<typeof listOutcomes> }>()(V.OutcomeList),
      covers<Item<Answer<typeof listRefunds>>>()(V.RefundView),
    ]).not.toContain(false);
  });

  /**
   * Call (with the client's token, a fresh Idempotency-Key on writes), then check the answer
   * against the schema documented for its path, method, status and content type.
   */
  async function answered(
    client: Client | null,
    method: string,
    template: string,
    path: string,
    body?: unknown,
  ) {
    const res = await fetch(`${sys.base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(client ? { authorization: `Bearer ${client.token}` } : {}),
        ...(method === 'GET' ? {} : { 'idempotency-key': `oa-${crypto.randomUUID()}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const media = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    // biome-ignore lint/suspicious/noExplicitAny: the answers are checked against their schemas here
    const r: { status: number; body: any } = {
      status: res.status,
      body: media.endsWith('json') && text ? JSON.parse(text) : text,
    };
    const response = doc.paths[template]?.[method.toLowerCase()]?.responses[String(r.status)];
    const at = `${method} ${path} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
    expect(response, `${at} is documented`).toBeDefined();
    if (r.status === 204) return r;
    const schema = response?.content?.[media]?.schema;
    expect(schema, `${at}: ${media} is documented`).toBeDefined();
    const json = jsonSchemaOf(schema) as TSchema;
    const errors = [...Value.Errors(json, r.body)].map((e) => `${e.instancePath} ${e.message}`);
    expect(errors, at).toEqual([]);
    return r;
  }

  it('answers every sampled call, success or problem, as its documented schema says', async () => {
    const expectAnswer = async (status: number, ...args: Parameters<typeof answered>) => {
      const r = await answered(...args);
      expect(r.status, `${args[1]} ${args[3]} ${JSON.stringify(r.body).slice(0, 300)}`).toBe(status);
      return r;
    };
    await expectAnswer(200, null, 'GET', '/v1/health', '/v1/health');
    await expectAnswer(401, null, 'POST', '/v1/sessions', '/v1/sessions', {
      terminalId: DEMO.terminalId,
      operatorNo: '01',
      password: 'wrong',
    });
    await expectAnswer(200, cashier, 'GET', '/v1/sessions/current', '/v1/sessions/current');
    await expectAnswer(401, null, 'GET', '/v1/payments', '/v1/payments');

    const order = orderNo('OA');
    const sale = await expectAnswer(201, cashier, 'POST', '/v1/payments', '/v1/payments', {
      orderNo: order,
      amount: 800_000,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
      items: [{ sku: 'A', name: 'Tea', qty: 2, unitAmount: 400_000 }],
    });
    const paymentId = sale.body.id as string;
    const invalid = await expectAnswer(400, cashier, 'POST', '/v1/payments', '/v1/payments', {
      orderNo: order,
      amount: 1.5,
    });
    expect(invalid.body.errors?.length).toBeGreaterThan(0);
    await expectAnswer(200, cashier, 'GET', '/v1/payments/{id}', `/v1/payments/${paymentId}`);
    await expectAnswer(404, cashier, 'GET', '/v1/payments/{id}', '/v1/payments/pay_missing');
    await expectAnswer(200, cashier, 'GET', '/v1/payments', `/v1/payments?orderNo=${order}`);

    const refund = await expectAnswer(201, cashier, 'POST', '/v1/refunds', '/v1/refunds', {
      paymentId,
      amount: 1_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    const refundId = refund.body.id as string;
    // A large refund without approvals waits, and its answer says what it needs.
    const waiting = await expectAnswer(201, cashier, 'POST', '/v1/refunds', '/v1/refunds', {
      paymentId,
      amount: 600_000,
      reason: { code: 'other', note: 'customer changed mind' },
    });
    expect(waiting.body.nextStep?.code).toBe('approval_required');
    const over = await expectAnswer(409, cashier, 'POST', '/v1/refunds', '/v1/refunds', {
      paymentId,
      amount: 900_000,
      reason: { code: 'quality_issue' },
    });
    expect(over.body.code).toBe('refund_exceeds_refundable');
    const id = waiting.body.id as string;
    await expectAnswer(200, admin, 'POST', '/v1/refunds/{id}/cancel', `/v1/refunds/${id}/cancel`, {});
    await until(
      async () => (await cashier.call('GET', `/v1/refunds/${refundId}`)).body.status as string,
      (s) => s === 'succeeded' || s === 'failed',
    );
    await expectAnswer(200, cashier, 'GET', '/v1/refunds/{id}', `/v1/refunds/${refundId}`);
    await expectAnswer(200, cashier, 'GET', '/v1/refunds/{id}/events', `/v1/refunds/${refundId}/events`);
    await expectAnswer(200, cashier, 'GET', '/v1/refunds', '/v1/refunds?limit=2');
    await expectAnswer(200, cashier, 'GET', '/v1/refunds/{id}/receipt', `/v1/refunds/${refundId}/receipt`);
    const sends = `/v1/refunds/${refundId}/receipt/sends`;
    await expectAnswer(200, cashier, 'GET', '/v1/refunds/{id}/receipt/sends', sends);
    await expectAnswer(200, cashier, 'GET', '/v1/orders/{orderNo}', `/v1/orders/${order}`);
    const adjustments = `/v1/orders/${order}/adjustments`;
    await expectAnswer(201, cashier, 'POST', '/v1/orders/{orderNo}/adjustments', adjustments, {
      originalAmount: 799_000,
      newAmount: 798_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    await expectAnswer(200, cashier, 'GET', '/v1/policy', '/v1/policy');
    await expectAnswer(403, cashier, 'PUT', '/v1/policy', '/v1/policy', { refundsEnabled: true });
    await expectAnswer(200, admin, 'PUT', '/v1/policy', '/v1/policy', { refundsEnabled: true });
    await expectAnswer(200, admin, 'GET', '/v1/audit', '/v1/audit');
    await expectAnswer(200, admin, 'GET', '/v1/audit', '/v1/audit?action=policy.changed&limit=1');
    await expectAnswer(400, admin, 'GET', '/v1/audit', '/v1/audit?limit=201');
    await expectAnswer(200, admin, 'GET', '/v1/audit/verify', '/v1/audit/verify');
    await expectAnswer(200, admin, 'GET', '/v1/outbox/dead', '/v1/outbox/dead');
    await expectAnswer(200, admin, 'GET', '/v1/reconciliations', '/v1/reconciliations');
    await expectAnswer(200, cashier, 'GET', '/v1/response-codes', '/v1/response-codes');
    await expectAnswer(200, cashier, 'GET', '/v1/response-codes/{code}', '/v1/response-codes/51');
    await expectAnswer(201, cashier, 'POST', '/v1/settlements', '/v1/settlements', {
      terminalId: DEMO.terminalId,
    });
    const own = await signIn(sys.base, '01', '1111');
    await expectAnswer(204, own, 'DELETE', '/v1/sessions/current', '/v1/sessions/current');
  });

  it("serialises the services' own views without dropping a field", async () => {
    const caller = await authenticate(sys.ctx, cashier.token);
    const json = (v: unknown) => JSON.parse(JSON.stringify(v));
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('OB'),
      amount: 5_000,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    const refund = await cashier.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      amount: 700,
      reason: { code: 'other', note: 'wrong size' },
      consumer: { name: '张三', phone: '13800138000' },
      approvals: [supervisor],
    });
    const id = refund.body.id as string;
    await until(
      async () => (await cashier.call('GET', `/v1/refunds/${id}`)).body.status as string,
      (s) => s === 'succeeded' || s === 'failed',
    );
    expect((await cashier.call('GET', `/v1/refunds/${id}`)).body).toEqual(
      json(await getRefund(sys.ctx, caller, id)),
    );
    expect((await cashier.call('GET', `/v1/payments/${sale.body.id}`)).body).toEqual(
      json(await getPayment(sys.ctx, caller, sale.body.id)),
    );
    expect((await cashier.call('GET', `/v1/orders/${sale.body.orderNo}`)).body).toEqual(
      json(await getOrder(sys.ctx, caller, sale.body.orderNo)),
    );
    expect((await cashier.call('GET', '/v1/refunds?limit=5')).body).toEqual(
      json(await listRefunds(sys.ctx, caller, { limit: 5 })),
    );
    // An audit entry (auditEntryView in service/audit.ts): every column but data_json, and data
    // parsed. Not chain_id either: the chain is where the store files an entry (the merchant's own
    // id here, chainOf(merchant_id) in store/audit.ts), not part of the public view.
    const row = await sys.ctx.store.db.selectFrom('audit_log').selectAll().limit(1).executeTakeFirstOrThrow();
    const columns = Object.keys(row).filter((k) => k !== 'data_json' && k !== 'chain_id');
    const audit = await admin.call('GET', '/v1/audit');
    for (const entry of audit.body.data)
      expect(Object.keys(entry).sort()).toEqual([...columns, 'data'].sort());
  });
});
