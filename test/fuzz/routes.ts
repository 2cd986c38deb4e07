/**
 * The running app's route table, for suites that must cover every route without a hand list (the
 * fuzzer, the permission matrix): a route added to the app is picked up by them on its own.
 *
 * Two sources, checked against each other:
 * - Fastify's router (`printRoutes`): every method and path actually registered, HEAD included;
 * - the OpenAPI document (`/openapi.json`): the same routes with their parameter and body schemas,
 *   and `security: []` on the public ones.
 */
import type { FastifyInstance } from 'fastify';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface RegisteredRoute {
  method: Method;
  /** Fastify spelling: `/v1/refunds/:id`. */
  path: string;
}

export type JsonSchema = { [key: string]: unknown };

export interface DocumentedRoute extends RegisteredRoute {
  /** Names of the path parameters, in path order. */
  params: string[];
  /** The query string's parameters with their schemas, when the route takes any. */
  query: { name: string; required: boolean; schema: JsonSchema }[];
  /** The JSON body's schema, when the route declares one. */
  body: JsonSchema | null;
  /** `security: []` in the document: no bearer token needed. */
  public: boolean;
}

/** `METHOD /path`, the key both tables use. */
export const routeKey = (r: RegisteredRoute): string => `${r.method} ${r.path}`;

/**
 * Every method + path in Fastify's router, read from `printRoutes` (the only public listing a
 * built Fastify instance has: `onRoute` hooks must be added before the routes are). The tree is
 * `├── segment (METHODS)`, each level indented by four characters; a path is its ancestors'
 * segments joined.
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(m[2] ?? '');
    const path = stack.join('');
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim())) {
      if (method) routes.push({ method: method as Method, path });
    }
  }
  return routes;
}

/** Routes of the OpenAPI document, with the schemas the fuzzer builds near-valid input from. */
export async function documentedRoutes(app: FastifyInstance): Promise<DocumentedRoute[]> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
  const doc = res.json() as {
    security?: unknown[];
    paths: Record<string, Record<string, DocOperation>>;
  };
  const out: DocumentedRoute[] = [];
  for (const [docPath, operations] of Object.entries(doc.paths)) {
    const path = docPath.replace(/\{([^}]+)\}/g, ':$1');
    for (const [method, op] of Object.entries(operations)) {
      const parameters = op.parameters ?? [];
      out.push({
        method: method.toUpperCase() as Method,
        path,
        params: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: parameters
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, required: p.required === true, schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
        public: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  }
  return out;
}

interface DocOperation {
  parameters?: { in: string; name: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: unknown[];
}

/**
 * The routes under `/v1`: every one the router holds, with its documented schemas. HEAD routes
 * Fastify adds beside GET are left out (they run the GET handler); `headRoutes` lists them.
 * Throws when a `/v1` route is missing from the OpenAPI document, or the document names a route
 * the router lacks: both suites rely on the two agreeing.
 */
export async function v1Routes(app: FastifyInstance): Promise<DocumentedRoute[]> {
  const registered = registeredRoutes(app).filter((r) => r.path.startsWith('/v1/') && r.method !== 'HEAD');
  const documented = new Map((await documentedRoutes(app)).map((r) => [routeKey(r), r]));
  const missing = registered.filter((r) => !documented.has(routeKey(r))).map(routeKey);
  if (missing.length > 0) throw new Error(`routes missing from /openapi.json: ${missing.join(', ')}`);
  const keys = new Set(registered.map(routeKey));
  const phantom = [...documented.keys()].filter((k) => !keys.has(k));
  if (phantom.length > 0)
    throw new Error(`/openapi.json names routes the router lacks: ${phantom.join(', ')}`);
  return registered.map((r) => documented.get(routeKey(r)) as DocumentedRoute);
}

/** HEAD routes under `/v1` (Fastify exposes one beside most GETs). */
export function headRoutes(app: FastifyInstance): RegisteredRoute[] {
  return registeredRoutes(app).filter((r) => r.path.startsWith('/v1/') && r.method === 'HEAD');
}

/** The URL of a route with its parameters filled in (already encoded by the caller). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for :${name} in ${path}`);
    return v;
  });
}
