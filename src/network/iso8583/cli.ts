/**
 * `refund-desk iso8583 decode <hex> [--dialect cup|ascii87]` and
 * `refund-desk iso8583 encode <json> [--dialect cup|ascii87]` (PRODUCT.md §9 "Network side").
 *
 * The hex is the message's bytes only: no length prefix, TPDU or header. Default dialect: cup.
 * Exit codes: 0 done; 1 malformed input (the typed error as JSON on stderr); 2 usage error.
 */
import { bytesFromHex, decode, encode, hexOf, type IsoMessage } from './codec.js';
import { Iso8583Error } from './errors.js';
import { type Dialect, isDialect } from './fields.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const ISO8583_USAGE = `Usage:
  refund-desk iso8583 decode <hex>  [--dialect cup|ascii87]   message bytes → {"mti", "fields"} JSON
  refund-desk iso8583 encode <json> [--dialect cup|ascii87]   {"mti", "fields"} JSON → message bytes (hex)
The hex is the message only (no length prefix, TPDU or header). Default dialect: cup.`;

/** Longest argument accepted: a frame is at most 8192 bytes, so its hex or JSON stays well below. */
const MAX_ARGUMENT_CHARS = 65_536;

type Parsed = { command: 'decode' | 'encode'; input: string; dialect: Dialect } | { usage: string };

function parseArgs(args: readonly string[]): Parsed {
  const rest = args[0] === 'iso8583' ? args.slice(1) : [...args];
  let dialect: Dialect = 'cup';
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (arg === '--dialect' || arg.startsWith('--dialect=')) {
      const value = arg === '--dialect' ? rest[++i] : arg.slice('--dialect='.length);
      if (value === undefined || !isDialect(value)) return { usage: 'unknown dialect: use cup or ascii87' };
      dialect = value;
    } else if (arg === '--help' || arg === '-h') {
      return { usage: '' };
    } else {
      positional.push(arg);
    }
  }
  const [command, input, ...extra] = positional;
  if (command !== 'decode' && command !== 'encode') return { usage: 'expected decode or encode' };
  if (input === undefined || extra.length > 0) return { usage: `${command} takes exactly one argument` };
  if (input.length > MAX_ARGUMENT_CHARS)
    return { usage: `argument longer than ${MAX_ARGUMENT_CHARS} characters` };
  return { command, input, dialect };
}

export async function iso8583Cli(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  if ('usage' in parsed) {
    io.stderr(`${parsed.usage ? `iso8583: ${parsed.usage}\n` : ''}${ISO8583_USAGE}\n`);
    return parsed.usage ? 2 : 0;
  }
  try {
    if (parsed.command === 'decode') {
      const result = decode(bytesFromHex(parsed.input), parsed.dialect);
      if (!result.ok) {
        io.stderr(`${JSON.stringify(result.error)}\n`);
        return 1;
      }
      io.stdout(`${JSON.stringify(result.message)}\n`);
      return 0;
    }
    io.stdout(`${hexOf(encode(parseMessage(parsed.input), parsed.dialect))}\n`);
    return 0;
  } catch (error) {
    if (error instanceof Iso8583Error) {
      io.stderr(`${JSON.stringify(error.toJSON())}\n`);
      return 1;
    }
    throw error;
  }
}

function parseMessage(json: string): IsoMessage {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Iso8583Error(
      'invalid_value',
      'input',
      'argument is not JSON: expected {"mti": "0200", "fields": {…}}',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Iso8583Error('invalid_value', 'input', 'expected a JSON object {"mti", "fields"}');
  }
  const { mti, fields } = value as { mti?: unknown; fields?: unknown };
  // `encode` checks the MTI and every field value itself; here only the shape is checked.
  return { mti: mti as string, fields: (fields ?? {}) as Record<string, string> };
}
