import { mkdtempSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUP_HEADER, DIALECT, TERMINAL_TPDU } from '../../src/network/card-link/wire.js';
import {
  attachMac,
  decode,
  decryptWorkingKey,
  encode,
  FrameDecoder,
  frame,
  type IsoMessage,
} from '../../src/network/iso8583/index.js';
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

const PAN = testPan('622202100007777');
const TMK = '0123456789ABCDEFFEDCBA9876543210';

/** One raw ISO 8583 exchange with the simulator's host, as a terminal would do it. */
async function exchange(port: number, msg: Buffer): Promise<IsoMessage> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => resolve());
  });
  const decoder = new FrameDecoder({ header: true });
  const answer = new Promise<IsoMessage>((resolve, reject) => {
    socket.on('data', (chunk) => {
      const { frames } = decoder.push(chunk);
      const f = frames[0];
      if (!f) return;
      const d = decode(f.message, DIALECT);
      if (d.ok) resolve(d.message);
      else reject(new Error(d.error.message));
    });
  });
  socket.write(frame(msg, { tpdu: TERMINAL_TPDU, header: CUP_HEADER }));
  try {
    return await answer;
  } finally {
    socket.destroy();
  }
}

describe.each(storeTargets)(
  'sale, void, partial and full refund through the simulator on $name',
  (target) => {
    let sys: TestSystem;
    let cashier: Client;

    beforeAll(async () => {
      sys = await startTestSystem(await target.freshUrl(), {
        network: 'sim',
        dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-paths-')),
        networkDelayMs: 50,
      });
      cashier = await signIn(sys.base, '01', '1111');
    });
    afterAll(async () => {
      await sys?.close();
    });

    const settled = (id: string) =>
      until(
        async () => (await cashier.call('GET', `/v1/refunds/${id}`)).body,
        (r) => r.status === 'succeeded' || r.status === 'failed',
      );

    const refund = async (paymentId: string, amount?: number) => {
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId,
        ...(amount ? { amount } : {}),
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return settled(r.body.id);
    };

    it('reports the link up through the echo test', async () => {
      const h = await call(sys.base, 'GET', '/v1/health');
      expect(h.body).toMatchObject({ store: 'ok', network: 'up' });
      expect(h.body.networkAdapter).toBe('card:iso8583+qr:qr-wallet');
    });

    for (const method of ['card', 'qr'] as const) {
      it(`${method}: sale, partial refund, full refund of the rest, each applied once by the network`, async () => {
        const sale = await cashier.call('POST', '/v1/payments', {
          orderNo: orderNo(method),
          amount: 10_000,
          currency: 'CNY',
          method,
          ...(method === 'card' ? { card: { pan: PAN, expiry: '2912' } } : {}),
        });
        expect(sale.status, JSON.stringify(sale.body)).toBe(201);
        expect(sale.body.network.reference).toBeTruthy();
        const partial = await refund(sale.body.id, 3_000);
        expect(partial).toMatchObject({ status: 'succeeded', network: { responseCode: '00' } });
        const rest = await refund(sale.body.id);
        expect(rest).toMatchObject({ status: 'succeeded', amount: 7_000 });
        expect((await cashier.call('GET', `/v1/payments/${sale.body.id}`)).body.status).toBe('refunded');
        const ledger = (
          await call(
            `http://127.0.0.1:${sys.simulator?.controlPort}`,
            'GET',
            `/ledger?merchantId=${DEMO.merchantId}`,
          )
        ).body.effects as { reference: string; kind: string; amount: number }[];
        const refundKind = method === 'card' ? 'refund' : 'qr_refund';
        // Card effects carry the network's RRN, wallet effects our refund id (its out_request_no).
        const refs =
          method === 'card' ? [partial.network.reference, rest.network.reference] : [partial.id, rest.id];
        for (const [i, ref] of refs.entries()) {
          const effects = ledger.filter((e) => e.kind === refundKind && e.reference === ref);
          expect(effects).toHaveLength(1);
          expect(effects[0]?.amount).toBe(i === 0 ? 3_000 : 7_000);
        }
        const over = await cashier.call('POST', '/v1/refunds', {
          paymentId: sale.body.id,
          amount: 1,
          reason: { code: 'quality_issue' },
        });
        expect(over.body.code).toBe('refund_exceeds_refundable');
      });

      it(`${method}: void on the day of the sale cancels it on the network`, async () => {
        const sale = await cashier.call('POST', '/v1/payments', {
          orderNo: orderNo(`${method}V`),
          amount: 4_200,
          currency: 'CNY',
          method,
          ...(method === 'card' ? { card: { pan: PAN, expiry: '2912' } } : {}),
        });
        expect(sale.status).toBe(201);
        const v = await cashier.call('POST', `/v1/payments/${sale.body.id}/void`, {
          approvals: [supervisor],
        });
        expect(v.status, JSON.stringify(v.body)).toBe(200);
        expect(v.body.status).toBe('voided');
        const ledger = (await call(`http://127.0.0.1:${sys.simulator?.controlPort}`, 'GET', '/ledger')).body
          .effects as {
          reference: string;
        }[];
        expect(ledger.some((e) => e.reference === sale.body.network.reference)).toBe(false);
      });
    }

    it('settles the batch with the card host and the wallet, balanced', async () => {
      const s = await cashier.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId });
      expect(s.status, JSON.stringify(s.body)).toBe(201);
      expect(s.body.reconciliation).toMatchObject({ balanced: true, differences: [] });
    });

    it('reverses a card sale that got no answer, so the cardholder is not charged', async () => {
      const control = `http://127.0.0.1:${sys.simulator?.controlPort}`;
      const ledger = sys.simulator?.ledger;
      if (!ledger) throw new Error('the simulator runs in this suite');
      const reversedSales = () =>
        (
          ledger.db
            .prepare("select count(*) as n from txns where kind = 'sale' and status = 'reversed'")
            .get() as { n: number }
        ).n;
      const before = reversedSales();
      await call(control, 'PUT', '/faults', { dropRate: 1 });
      try {
        const sale = await cashier.call('POST', '/v1/payments', {
          orderNo: orderNo('LOST'),
          amount: 3_300,
          currency: 'CNY',
          method: 'card',
          card: { pan: PAN, expiry: '2912' },
        });
        expect(sale.status).toBe(503);
        expect(sale.body.code).toBe('network_unavailable');
        expect(sale.body.detail).toMatch(/revers/);
      } finally {
        await call(control, 'PUT', '/faults', { dropRate: 0 });
      }
      await until(
        async () => reversedSales(),
        (n) => n === before + 1,
        15_000,
      );
    });

    it('reports an unbalanced batch when the host counts differently, and uploads the batch (0320)', async () => {
      const sale = await cashier.call('POST', '/v1/payments', {
        orderNo: orderNo('UNBAL'),
        amount: 5_000,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN, expiry: '2912' },
      });
      expect(sale.status).toBe(201);
      // The host's books say something else about this sale.
      sys.simulator?.ledger.db
        .prepare('update txns set amount_minor = 5001 where rrn = ?')
        .run(sale.body.network.reference);
      const s = await cashier.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId });
      expect(s.status).toBe(201);
      expect(s.body.reconciliation.balanced).toBe(false);
      const [diff, ...others] = s.body.reconciliation.differences;
      expect(others).toEqual([]);
      expect(diff.bucket).toBe('sales');
      expect(diff.network).toEqual({ count: diff.local.count, amount: diff.local.amount + 1 });
    });

    it('the host refuses a message with a bad MAC (A0) and applies nothing', async () => {
      const port = sys.simulator?.cardPort as number;
      const signInAnswer = await exchange(
        port,
        encode(
          {
            mti: '0800',
            fields: { '11': '900001', '41': DEMO.terminalId, '42': DEMO.merchantId, '60': '00000001003' },
          },
          DIALECT,
        ),
      );
      expect(signInAnswer.fields['39']).toBe('00');
      const keys = Buffer.from(signInAnswer.fields['62'] ?? '', 'hex');
      const macKey = decryptWorkingKey(Buffer.from(TMK, 'hex'), keys.subarray(20, 36), keys.subarray(36, 40));
      const before = sys.simulator?.ledger.effects().length;
      const refund: IsoMessage = {
        mti: '0220',
        fields: {
          '3': '200000',
          '4': '000000000100',
          '11': '900002',
          '25': '00',
          '37': '000000000000',
          '41': DEMO.terminalId,
          '42': DEMO.merchantId,
          '49': '156',
          '60': '25000001000',
        },
      };
      const good = attachMac(refund, DIALECT, macKey);
      const bad = Buffer.from(good);
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
      const answer = await exchange(port, bad);
      expect(answer.mti).toBe('0230');
      expect(answer.fields['39']).toBe('A0');
      expect(sys.simulator?.ledger.effects().length).toBe(before);
    });

    it('shows the link down when the host is gone', async () => {
      await sys.simulator?.close();
      const h = await call(sys.base, 'GET', '/v1/health');
      expect(h.body.network).toBe('down');
    });
  },
);
