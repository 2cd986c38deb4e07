/**
 * fast-check generators for HTTP fuzzing: junk values, and bodies and query strings built from a
 * route's own JSON schema — valid ones, and ones broken in exactly one place (a field dropped, one
 * added, one of the wrong type, out of range, too long), which get past the JSON parser and reach
 * the validation and code behind it.
 */
import fc from 'fast-check';
import type { JsonSchema } from './routes.js';

// ---- junk values ------------------------------------------------------------------------------

/** What a header value arrives as on the wire: UTF-8 bytes read as latin1, control characters gone. */
export function onTheWire(s: string): string {
  return [...Buffer.from(s, 'utf8').toString('latin1')]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
    .join('');
}

const oddStrings = [
  '',
  ' ',
  '\u0000',
  '\t\n',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
  '__proto__',
  'constructor',
  '../../../etc/passwd',
  "' OR '1'='1",
  '"; drop table payments; --',
  '%00',
  '%',
  '\uFEFF',
  '\u202E', // right-to-left override
  'Ｔ０００００００１', // full-width
  '💳💸',
  '\uD800', // a lone surrogate
  '<script>alert(1)</script>',
  '$' + '{7*7}', // a template injection, kept out of a template literal
  'pay_',
  'ref_',
];

/** A huge string: mostly some kilobytes, now and then more than the 256 KiB body limit. */
export const hugeString: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 5, arbitrary: fc.integer({ min: 257, max: 20_000 }) },
    { weight: 1, arbitrary: fc.constant(300_000) },
  )
  .chain((n) => fc.constantFrom('x', '9', '€', '字').map((c) => c.repeat(n)));

export const junkString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...oddStrings) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
);

/** Amounts and counts that are wrong: negative, zero, fractional, beyond 2^53, exponent notation. */
export const junkNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 0.5, 30.5, -30, 1e21, 2 ** 53 + 2, Number.MAX_VALUE, 1e-7, -(2 ** 31)),
  fc.integer({ min: -1_000_000_000, max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.integer({ min: 100_000_000_000_00, max: Number.MAX_SAFE_INTEGER }),
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const junkJson: fc.Arbitrary<Json> = fc.letrec<{ json: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    junkString,
    junkNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...oddStrings), fc.string({ maxLength: 8 })), tie('json'), {
      maxKeys: 4,
    }),
  ),
})).json;

/** Bodies that are not JSON at all, or JSON a parser must refuse. */
export const rawJunkBody: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    'nul',
    '[1,2,',
    '{"amount": 1,}',
    "{'single': 'quotes'}",
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '\uFEFF{}',
    '{"a": 1} trailing',
    '"just a string"',
    '123',
  ),
  fc.integer({ min: 100, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 100, max: 5_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
  hugeString.map((s) => `{"x":"${s}"}`),
);

// ---- schema-driven ------------------------------------------------------------------------------

const typeOf = (s: JsonSchema): string | undefined => (typeof s.type === 'string' ? s.type : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** Values of every JSON type but `type` (an integer's wrong types include non-integer numbers). */
function wrongType(type: string | undefined): fc.Arbitrary<unknown> {
  const all: Record<string, fc.Arbitrary<unknown>> = {
    string: junkString,
    number: junkNumber,
    boolean: fc.boolean(),
    null: fc.constant(null),
    array: fc.array(junkJson, { maxLength: 3 }),
    object: fc.dictionary(fc.string({ maxLength: 8 }), junkJson, { maxKeys: 3 }),
  };
  const others = Object.entries(all)
    .filter(([t]) => t !== type && !(type === 'integer' && t === 'number'))
    .map(([, a]) => a);
  if (type === 'integer') others.push(junkNumber.filter((n) => !Number.isInteger(n)));
  if (type === 'number') others.push(fc.constantFrom('30', '1e3', ''));
  return fc.oneof(...others);
}

function enumOf(s: JsonSchema): unknown[] | null {
  if (Array.isArray(s.enum)) return s.enum;
  if (Array.isArray(s.anyOf) && s.anyOf.every((b) => Array.isArray((b as JsonSchema).enum))) {
    return s.anyOf.flatMap((b) => (b as JsonSchema).enum as unknown[]);
  }
  return null;
}

/**
 * Real values for properties of a given name (a payment id, an order number): a generated body
 * then points at something that exists now and then, and gets past "not found" into the rules.
 */
export type Hints = Readonly<Record<string, readonly string[]>>;

/** A value the schema accepts. */
export function validFor(s: JsonSchema, hints: Hints = {}): fc.Arbitrary<unknown> {
  const values = enumOf(s);
  if (values) return fc.constantFrom(...values);
  if (Array.isArray(s.anyOf)) return fc.oneof(...s.anyOf.map((b) => validFor(b as JsonSchema, hints)));
  const base = validOfType(s, hints);
  return s.nullable === true ? fc.option(base, { nil: null }) : base;
}

function validProperty(key: string, p: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  const real = hints[key];
  return real && real.length > 0
    ? fc.oneof(fc.constantFrom(...real), validFor(p, hints))
    : validFor(p, hints);
}

function validOfType(s: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  switch (typeOf(s)) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      const required = (Array.isArray(s.required) ? s.required : []) as string[];
      const model = Object.fromEntries(
        Object.entries(props).map(([k, p]) => [k, validProperty(k, p, hints)]),
      );
      return fc.record(model, { requiredKeys: required });
    }
    case 'array': {
      const min = num(s.minItems) ?? 0;
      const max = Math.min(num(s.maxItems) ?? 3, min + 3);
      return fc.array(validFor((s.items ?? {}) as JsonSchema, hints), { minLength: min, maxLength: max });
    }
    case 'integer':
      return fc.integer({ min: num(s.minimum) ?? -1_000_000, max: num(s.maximum) ?? 1_000_000 });
    case 'number':
      return fc.double({ min: num(s.minimum) ?? -1e6, max: num(s.maximum) ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'string':
      return validString(s);
    default:
      return junkJson;
  }
}

function validString(s: JsonSchema): fc.Arbitrary<string> {
  const min = num(s.minLength) ?? 0;
  const max = num(s.maxLength) ?? 10_000;
  const fits = (v: string) => v.length >= min && v.length <= max;
  if (s.format === 'email') return fc.emailAddress().filter(fits);
  if (s.format === 'date-time') {
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (typeof s.pattern === 'string') return fc.stringMatching(new RegExp(s.pattern)).filter(fits);
  return fc.string({ minLength: min, maxLength: Math.min(max, min + 40) });
}

/** A value the schema refuses, broken in one place (the rest valid, with `hints`). */
export function invalidFor(s: JsonSchema, hints: Hints = {}): fc.Arbitrary<unknown> {
  const values = enumOf(s);
  if (values) {
    return fc.oneof(
      junkString.filter((v) => !values.includes(v)),
      wrongType('string'),
      // Near misses: a listed value with a trailing space, or in another case.
      fc.constantFrom(...values).map((v) => `${String(v)} `),
      fc.constantFrom(...values).map((v) => {
        const s = String(v);
        return s === s.toUpperCase() ? `${s.toLowerCase()}-` : s.toUpperCase();
      }),
    );
  }
  if (Array.isArray(s.anyOf)) return wrongType(typeOf(s.anyOf[0] as JsonSchema));
  const type = typeOf(s);
  const wrong = s.nullable === true ? wrongType(type).filter((v) => v !== null) : wrongType(type);
  switch (type) {
    case 'object':
      return fc.oneof(wrong, ...invalidObjects(s, hints));
    case 'array':
      return fc.oneof(wrong, ...invalidArrays(s, hints));
    case 'integer':
    case 'number':
      return fc.oneof(wrong, ...outOfRange(s));
    case 'string':
      return fc.oneof(wrong, ...invalidStrings(s));
    default:
      return wrong;
  }
}

function invalidObjects(s: JsonSchema, hints: Hints): fc.Arbitrary<unknown>[] {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = (Array.isArray(s.required) ? s.required : []) as string[];
  const valid = validFor(s, hints) as fc.Arbitrary<Record<string, unknown>>;
  const out: fc.Arbitrary<unknown>[] = [];
  for (const [key, prop] of Object.entries(props)) {
    out.push(fc.tuple(valid, invalidFor(prop, hints)).map(([v, bad]) => ({ ...v, [key]: bad })));
  }
  for (const key of required) {
    out.push(
      valid.map((v) => {
        const { [key]: _dropped, ...rest } = v;
        return rest;
      }),
    );
  }
  if (s.additionalProperties === false) {
    const extraKey = fc.oneof(fc.constantFrom(...oddStrings), fc.string({ maxLength: 12 }));
    out.push(
      fc
        .tuple(
          valid,
          extraKey.filter((k) => !(k in props) && k !== '__proto__'),
          junkJson,
        )
        .map(([v, k, junk]) => ({ ...v, [k]: junk })),
    );
  }
  return out;
}

function invalidArrays(s: JsonSchema, hints: Hints): fc.Arbitrary<unknown>[] {
  const items = (s.items ?? {}) as JsonSchema;
  const out: fc.Arbitrary<unknown>[] = [
    fc
      .tuple(validFor(s, hints) as fc.Arbitrary<unknown[]>, invalidFor(items, hints), fc.nat())
      .map(([v, bad, at]) => {
        const copy = [...v];
        copy.splice(at % (copy.length + 1), 0, bad);
        return copy;
      }),
  ];
  const max = num(s.maxItems);
  if (max !== undefined) {
    out.push(fc.array(validFor(items, hints), { minLength: max + 1, maxLength: max + 3 }));
  }
  const min = num(s.minItems);
  if (min !== undefined && min > 0) out.push(fc.constant([]));
  return out;
}

function outOfRange(s: JsonSchema): fc.Arbitrary<unknown>[] {
  const out: fc.Arbitrary<unknown>[] = [];
  const min = num(s.minimum);
  const max = num(s.maximum);
  if (min !== undefined) out.push(fc.integer({ min: Math.max(min - 1_000_000, -(2 ** 52)), max: min - 1 }));
  if (max !== undefined) {
    out.push(fc.oneof(fc.integer({ min: max + 1, max: Math.max(max + 1, 2 ** 52) }), fc.constant(1e21)));
  }
  if (typeOf(s) === 'integer') out.push(junkNumber.filter((n) => !Number.isInteger(n)));
  return out;
}

function invalidStrings(s: JsonSchema): fc.Arbitrary<unknown>[] {
  const out: fc.Arbitrary<unknown>[] = [];
  const max = num(s.maxLength);
  if (max !== undefined) out.push(fc.integer({ min: max + 1, max: max + 2_000 }).map((n) => 'a'.repeat(n)));
  const min = num(s.minLength);
  if (min !== undefined && min > 0) out.push(fc.constant(''));
  if (typeof s.pattern === 'string') {
    const re = new RegExp(s.pattern);
    out.push(junkString.filter((v) => !re.test(v)));
  }
  if (s.format === 'email') out.push(fc.constantFrom('not-an-email', '@', 'a@', 'a b@c.d'));
  if (s.format === 'date-time') out.push(fc.constantFrom('2024-13-01T00:00:00Z', 'yesterday', '2024-01-01'));
  if (out.length === 0) out.push(fc.constant(12345));
  return out;
}

// ---- query strings ------------------------------------------------------------------------------

export interface QueryParam {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

/** Percent-encoding of any string: a lone surrogate (which `encodeURIComponent` refuses) becomes U+FFFD. */
export const enc = (s: string): string =>
  encodeURIComponent(
    s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'),
  );

/** A query string (without `?`): valid, one parameter broken, an extra one, repeated, or raw junk. */
export function queryArb(params: readonly QueryParam[]): fc.Arbitrary<string> {
  const validPairs = fc
    .tuple(...params.map((p) => (p.required ? validFor(p.schema) : fc.option(validFor(p.schema)))))
    .map((values) =>
      values.flatMap((v, i) => (v === null || v === undefined ? [] : [[params[i]?.name ?? '', String(v)]])),
    );
  const toQuery = (pairs: string[][]) => pairs.map(([k, v]) => `${enc(k ?? '')}=${enc(v ?? '')}`).join('&');
  const options: fc.Arbitrary<string>[] = [
    fc.constant(''),
    validPairs.map(toQuery),
    fc.tuple(validPairs, junkString, junkString).map(([pairs, k, v]) => toQuery([...pairs, [k || 'x', v]])),
    fc
      .tuple(validPairs, fc.array(fc.tuple(junkString, junkString), { maxLength: 4 }))
      .map(([pairs, junk]) => toQuery([...pairs, ...junk])),
    fc.constantFrom('%', '%zz', '%E0%A4%A', 'a=%', '&&&', '==', '?', '#frag', 'a[b][c]=1', 'a[]=1&a[]=2'),
  ];
  if (params.length > 0) {
    const pick = fc.constantFrom(...params);
    options.push(
      // A parameter given twice arrives as an array.
      fc.tuple(validPairs, pick).map(([pairs, p]) => toQuery([...pairs, [p.name, '1'], [p.name, '2']])),
      fc
        .tuple(
          validPairs,
          pick.chain((p) => fc.tuple(fc.constant(p.name), invalidFor(p.schema))),
        )
        .map(([pairs, [name, bad]]) =>
          toQuery([
            ...pairs.filter(([k]) => k !== name),
            [name, typeof bad === 'string' ? bad : JSON.stringify(bad)],
          ]),
        ),
    );
  }
  return fc.oneof(...options);
}
