import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { CardHost } from './card-host.js';
import { FaultPlan, seededRandom } from './faults.js';
import { DEMO_TMK, SimLedger } from './ledger.js';

export interface SimulatorOptions {
  dataDir: string;
  /** ISO 8583 acquirer host port (0 = any free port). */
  cardPort: number;
  /** Control API port, loopback only (PRODUCT.md §9: SIM_CONTROL_PORT, default 3901). */
  controlPort: number;
  log: Logger;
  seed?: number;
  /** How late a "timeout" answer comes. */
  timeoutAnswerMs?: number;
  /** Merchants and terminals the network knows, with the merchant's settlement balance. */
  merchants: { id: string; name: string; balanceMinor: number; terminals: string[] }[];
  clock?: () => Date;
}

export interface Simulator {
  ledger: SimLedger;
  /** The QR wallet simulator, when one runs beside the card host: GET /ledger shows its effects too. */
  wallet?: {
    ledger: {
      effects(): { reference: string; kind: string; amount: number; merchantId: string; at: string }[];
    };
  } | null;
  faults: FaultPlan;
  cardPort: number;
  controlPort: number;
  control: FastifyInstance;
  /** Messages the card host received, by MTI (0800 sign-ins, 0820 echoes, …). */
  received(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * `refund-desk network-sim`: acquirer + scheme + issuer with their own persistent ledger, the ISO
 * 8583 host for cards, and a control API on loopback to inject faults and read the ledger.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const ledger = new SimLedger(join(opts.dataDir, 'network-sim.db'));
  for (const m of opts.merchants) {
    ledger.ensureMerchant(m.id, m.name, m.balanceMinor);
    for (const t of m.terminals) ledger.ensureTerminal(t, m.id, DEMO_TMK);
  }
  const faults = new FaultPlan(seededRandom(opts.seed ?? Date.now()), opts.timeoutAnswerMs ?? 30_000);
  const log = opts.log.child({ component: 'network-sim' });
  const host = new CardHost({ ledger, faults, log, ...(opts.clock ? { clock: opts.clock } : {}) });
  const cardPort = await host.listen(opts.cardPort);

  const control = Fastify({ logger: false });
  control.get('/health', async () => ({ ok: true, cardPort }));
  control.get('/faults', async () => faults.faults);
  control.get('/messages', async () => ({ received: Object.fromEntries(host.received) }));
  control.put<{ Body: Record<string, unknown> }>('/faults', async (req, reply) => {
    const body = req.body ?? {};
    const patch: Record<string, unknown> = {};
    for (const k of ['dropRate', 'delayMs', 'timeoutRate', 'issuerDown']) if (k in body) patch[k] = body[k];
    try {
      return faults.set(patch);
    } catch (err) {
      return reply.code(400).send({ code: 'validation_failed', detail: (err as Error).message });
    }
  });
  control.get<{ Querystring: { all?: string; merchantId?: string } }>('/ledger', async (req) => ({
    effects: [
      ...ledger.effects({
        all: req.query.all === '1',
        ...(req.query.merchantId ? { merchantId: req.query.merchantId } : {}),
      }),
      // Declared below; the handler only runs once the simulator is up.
      ...(sim.wallet?.ledger.effects() ?? []).filter(
        (e) => !req.query.merchantId || e.merchantId === req.query.merchantId,
      ),
    ],
    merchants: ledger.db.prepare('select id, balance_minor as balance from merchants').all(),
  }));
  control.get<{ Params: { merchantId: string; day: string } }>(
    '/settlement-files/:merchantId/:day',
    async (req, reply) =>
      reply.type('text/csv; charset=utf-8').send(ledger.settlementCsv(req.params.merchantId, req.params.day)),
  );
  control.put<{ Params: { id: string }; Body: { balance?: number } }>(
    '/merchants/:id',
    async (req, reply) => {
      const balance = req.body?.balance;
      if (!Number.isSafeInteger(balance))
        return reply.code(400).send({ code: 'validation_failed', detail: 'balance: integer fen' });
      ledger.db.prepare('update merchants set balance_minor = ? where id = ?').run(balance, req.params.id);
      return { id: req.params.id, balance };
    },
  );
  // Loopback only: the control API changes what the network does.
  await control.listen({ port: opts.controlPort, host: '127.0.0.1' });
  const addr = control.server.address();
  const controlPort = typeof addr === 'object' && addr ? addr.port : opts.controlPort;
  log.info({ cardPort, controlPort }, 'network simulator listening');
  const sim: Simulator = {
    ledger,
    faults,
    cardPort,
    controlPort,
    control,
    received: () => Object.fromEntries(host.received),
    async close() {
      await control.close();
      await host.close();
      ledger.close();
    },
  };
  return sim;
}
