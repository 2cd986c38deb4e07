#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { loadConfig } from './config.js';
import { DEMO } from './demo.js';
import { startSystem } from './system.js';

const USAGE = `refund-desk — merchant-side refunds, voids and adjustments at the point of sale

Usage:
  refund-desk serve            start the API (and worker) on PORT with DATABASE_URL (default)
  refund-desk worker           run only the outbox worker (more workers on PostgreSQL)
  refund-desk migrate          apply database migrations and exit
  refund-desk network-sim      run the acquirer/scheme/issuer simulator alone (ISO 8583 on ACQUIRER_PORT,
                               control API on 127.0.0.1:SIM_CONTROL_PORT)
  refund-desk iso8583 decode <hex> [--dialect cup|ascii87]
  refund-desk iso8583 encode <json> [--dialect cup|ascii87]
  refund-desk reconcile <file.csv> --day YYYY-MM-DD [--merchant 898100000000001]
                               reconcile the network's settlement file against DATABASE_URL's ledger;
                               the run as JSON on stdout; exit 0 balanced, 3 mismatches or bad rows
  refund-desk keys status      rows sealed / tokenised under each key id (JSON)
  refund-desk keys rotate [--data|--token|--all]
                               a fresh current key in DATA_DIR/secrets.json; running processes use it
                               for new writes within KEY_RELOAD_INTERVAL_MS, no restart
  refund-desk keys reseal      re-seal every value still under an old data key (the worker does it too)
  refund-desk keys retire <id> [--data|--token]
                               remove an old key; refused while any row still uses it
  refund-desk help             this text

Environment: PORT (3000), DATABASE_URL (sqlite:./data/refund-desk.db | postgres://…), DATA_DIR (./data),
  LOG_LEVEL (info), SEED_DEMO (1), WORKER (1), DATA_KEY / TOKEN_KEY (base64, 32 bytes) or
  DATA_KEYS / TOKEN_KEYS (id:base64,… oldest first, the last current; default DATA_DIR/secrets.json),
  KEY_RELOAD_INTERVAL_MS (5000), KEY_RESEAL_INTERVAL_MS (2000, 0 = no background re-seal),
  NETWORK (sim | host | in-process), ACQUIRER_HOST / ACQUIRER_PORT (127.0.0.1:3900), SIM_CONTROL_PORT (3901),
  TERMINAL_MASTER_KEY (32 hex), NETWORK_TIMEOUT_MS (5000), NETWORK_DELAY_MS (1500, in-process only),
  SETTLEMENT_FILE_URL (http://127.0.0.1:SIM_CONTROL_PORT/settlement-files/{merchantId}/{day})`;

function networkLine(config: ReturnType<typeof loadConfig>, cardPort?: number, controlPort?: number): string {
  if (config.network === 'in-process')
    return `in-process acquirer (results after ${config.networkDelayMs} ms)`;
  if (config.network === 'host')
    return `ISO 8583 acquirer host ${config.acquirerHost}:${config.acquirerPort}`;
  return `bundled simulator: ISO 8583 on 127.0.0.1:${cardPort}, control API http://127.0.0.1:${controlPort} (PUT /faults, GET /ledger)`;
}

/** MiB per semi-space of the server's young generation (V8's default maximum is 16). */
const SEMI_SPACE_MB = 4;

async function serve(): Promise<void> {
  // A server's young generation stays small (V8 grows each of its semi-spaces to 16 MiB under
  // load): requests allocate little that lives long, and the RSS budget is 300 MB (issue 10).
  setFlagsFromString(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  const config = loadConfig();
  const system = await startSystem(config);
  const address = await system.app.listen({ port: config.port, host: config.host });
  const base = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');
  const store = config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres (DATABASE_URL)';
  process.stdout.write(
    [
      '',
      '  Refund Desk is running',
      `  Terminal       ${base}/terminal/`,
      `  Back office    ${base}/office/   (supervisors and admins)`,
      `  API            ${base}/v1`,
      `  API docs       ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  Health         ${base}/v1/health`,
      `  Store          ${store}`,
      `  Network        ${networkLine(config, system.simulator?.cardPort, system.simulator?.controlPort)}`,
      `  Vouchers       ${system.senders.describe}`,
      '',
      // The demo's credentials are public (PRODUCT.md §9); with SEED_DEMO=0 nothing is printed.
      ...(config.seedDemo
        ? [
            `  Demo merchant ${DEMO.merchantId}, terminal ${DEMO.terminalId}`,
            ...DEMO.operators.map(
              (o) => `    operator ${o.no.padEnd(3)} ${o.role.padEnd(11)} password ${o.password}`,
            ),
          ]
        : []),
      '',
      `  Try: curl -s -XPOST ${base}/v1/sessions -H 'content-type: application/json' \\`,
      `         -d '{"terminalId":"${DEMO.terminalId}","operatorNo":"01","password":"1111"}'`,
      '',
    ].join('\n'),
  );
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    system.ctx.log.info({ signal }, 'shutting down: finishing requests in flight');
    await system.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function workerOnly(): Promise<void> {
  const config = loadConfig();
  const system = await startSystem({ ...config, worker: true, seedDemo: false });
  system.ctx.log.info('outbox worker running');
  const stop = async () => {
    await system.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

async function networkSim(): Promise<void> {
  const config = loadConfig();
  const { startSimulator } = await import('./simulator/index.js');
  const { makeLogger } = await import('./system.js');
  const sim = await startSimulator({
    dataDir: config.dataDir,
    cardPort: config.acquirerPort,
    controlPort: config.simControlPort,
    log: makeLogger(config.logLevel),
    merchants: [
      {
        id: DEMO.merchantId,
        name: DEMO.merchantName,
        balanceMinor: DEMO.openingFundsMinor,
        terminals: [DEMO.terminalId],
      },
    ],
  });
  process.stdout.write(
    `network simulator: ISO 8583 on 127.0.0.1:${sim.cardPort}, control API http://127.0.0.1:${sim.controlPort}\n`,
  );
  const stop = async () => {
    await sim.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve'] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'worker':
      return workerOnly();
    case 'network-sim':
      return networkSim();
    case 'iso8583': {
      const { iso8583Cli } = await import('./network/iso8583/cli.js');
      process.exitCode = await iso8583Cli(argv.slice(1), {
        stdout: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
        stderr: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
      });
      return;
    }
    case 'reconcile': {
      const { reconcileFileCommand } = await import('./service/reconciliation.js');
      process.exitCode = await reconcileFileCommand(argv.slice(1), {
        env: process.env,
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
        progress: process.stderr.isTTY === true,
      });
      return;
    }
    case 'keys': {
      const { keysCommand } = await import('./service/keys-command.js');
      process.exitCode = await keysCommand(argv.slice(1), {
        env: process.env,
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
      });
      return;
    }
    case 'migrate': {
      const { openStore, migrate } = await import('./store/db.js');
      const store = openStore(loadConfig().databaseUrl);
      const applied = await migrate(store);
      await store.close();
      process.stdout.write(
        `migrations applied: ${applied.length ? applied.join(', ') : 'none (up to date)'}\n`,
      );
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`refund-desk: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
