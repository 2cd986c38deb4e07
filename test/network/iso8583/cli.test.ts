import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { iso8583Cli } from '../../../src/network/iso8583/cli.js';

const fixtures: { id: string; dialect: string; hex?: string; ascii?: string; expected?: unknown }[] =
  JSON.parse(readFileSync(new URL('./fixtures/published.json', import.meta.url), 'utf8')).fixtures;

function fixture(id: string) {
  const f = fixtures.find((x) => x.id === id);
  if (f === undefined) throw new Error(`no fixture ${id}`);
  const hex = f.hex ?? Buffer.from(f.ascii ?? '', 'latin1').toString('hex');
  return { ...f, hex: hex.toUpperCase() };
}

async function run(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await iso8583Cli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('refund-desk iso8583', () => {
  it('decodes a published UnionPay sale to {mti, fields} JSON (cup is the default)', async () => {
    const sale = fixture('whty-cup-sale-0200');
    const { code, stdout, stderr } = await run('decode', sale.hex);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual(sale.expected);
  });

  it('decodes ascii87 with --dialect, in either spelling, and with the iso8583 word in front', async () => {
    const sample = fixture('patrickaburu1-ascii87-0200');
    for (const args of [
      ['decode', sample.hex, '--dialect', 'ascii87'],
      ['iso8583', '--dialect=ascii87', 'decode', sample.hex.toLowerCase()],
    ]) {
      const { code, stdout } = await run(...args);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual(sample.expected);
    }
  });

  it('encodes JSON to the uppercase hex of the message bytes (round trip with decode)', async () => {
    for (const id of ['jspos-readme-cup-signin-0800', 'jspos-test-ascii87-0800']) {
      const f = fixture(id);
      const { code, stdout } = await run('encode', JSON.stringify(f.expected), '--dialect', f.dialect);
      expect(code).toBe(0);
      expect(stdout).toBe(`${f.hex}\n`);
      const back = await run('decode', stdout.trim(), '--dialect', f.dialect);
      expect(JSON.parse(back.stdout)).toEqual(f.expected);
    }
  });

  it('prints the typed decode error as JSON on stderr and exits 1 for a malformed message', async () => {
    const sale = fixture('whty-cup-sale-0200');
    const { code, stdout, stderr } = await run('decode', sale.hex.slice(0, 60));
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(JSON.parse(stderr)).toMatchObject({ code: 'truncated', field: 11, offset: 30 });
  });

  it('exits 1 with a typed error for bad hex, bad JSON and invalid field values', async () => {
    expect(JSON.parse((await run('decode', '0G00')).stderr)).toMatchObject({ code: 'bad_hex' });
    expect(JSON.parse((await run('encode', '{mti')).stderr)).toMatchObject({ code: 'invalid_value' });
    const bad = await run('encode', JSON.stringify({ mti: '0200', fields: { '4': '15' } }));
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({ code: 'invalid_value', field: 4 });
  });

  it('exits 2 with usage for an unknown command or dialect', async () => {
    expect((await run('frobnicate', '00')).code).toBe(2);
    const unknown = await run('decode', '0800', '--dialect', 'ebcdic');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Usage:');
    expect((await run('decode')).code).toBe(2);
  });
});
