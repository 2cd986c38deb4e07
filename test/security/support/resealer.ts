import { existsSync } from 'node:fs';
import { openSecrets } from '../../../src/key-ring.js';
import { resealAll } from '../../../src/service/keys.js';
import { openStore } from '../../../src/store/db.js';

/**
 * One re-sealer as a process of its own (a second worker would be one): loads the ring, prints
 * `ready`, waits for the file GO_FILE so several start together, re-seals in batches of
 * BATCH_ROWS until done, prints its report (and when it ran) as one JSON line.
 */
const env = process.env as Record<string, string>;
const secrets = openSecrets({ dataDir: env.DATA_DIR as string });
const store = openStore(env.DATABASE_URL as string, { poolSize: 2 });
process.stdout.write('ready\n');
while (!existsSync(env.GO_FILE as string)) await new Promise((r) => setTimeout(r, 5));
const startedAt = Date.now();
const report = await resealAll({ store, secrets }, { batchRows: Number(env.BATCH_ROWS) });
process.stdout.write(`report ${JSON.stringify({ ...report, startedAt, endedAt: Date.now() })}\n`);
await store.close();
secrets.close();
