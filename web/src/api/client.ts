// A typed client of the public API: paths, query parameters, bodies and answers all come from
// schema.d.ts, generated from shared/api/openapi.yaml, so a schema change breaks `tsc` here.
import type { paths } from './schema';

type Method = 'get' | 'post' | 'put' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
/** The paths that have an operation for this method. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined | never ? never : P;
}[keyof paths];

type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type Responses<O> = O extends { responses: infer R } ? R : never;
type SuccessCode = 200 | 201 | 202;
/** The JSON answer of a successful call (any of its 2xx bodies). */
export type Ok<P extends keyof paths, M extends Method> = Json<
  Responses<Operation<P, M>>[Extract<keyof Responses<Operation<P, M>>, SuccessCode>]
>;
export type Body<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type Params<O> = O extends { parameters: infer X } ? X : never;
export type Query<P extends keyof paths, M extends Method> = NonNullable<Params<Operation<P, M>> extends {
  query?: infer Q;
}
  ? Q
  : never>;
type PathParams<P extends keyof paths, M extends Method> = Params<Operation<P, M>> extends { path: infer X }
  ? X
  : never;

export interface ValidationIssue {
  field: string;
  message?: string;
  code?: string;
}

/** An error answer of the API, `{"error":{"code","message",...}}`, or a transport failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly issues: ValidationIssue[];
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.field = typeof details.field === 'string' ? details.field : undefined;
    const errors = Array.isArray(details.errors) ? details.errors : [];
    this.issues = errors.filter(
      (e): e is ValidationIssue => typeof e === 'object' && e !== null && typeof e.field === 'string',
    );
    if (this.issues.length === 0 && this.field) this.issues = [{ field: this.field, message }];
  }
}

let bearer: string | null = null;
let onUnauthorized: () => void = () => {};

/** The session's token; every call carries it. */
export function setBearer(token: string | null, unauthorized?: () => void) {
  bearer = token;
  if (unauthorized) onUnauthorized = unauthorized;
}

/** A fresh Idempotency-Key: one per user intent, reused on a retry of that same intent. */
export function newIdempotencyKey(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

interface Options<P extends keyof paths, M extends Method> {
  params?: PathParams<P, M>;
  query?: Query<P, M>;
  body?: Body<P, M>;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

function fillPath(path: string, params: Record<string, unknown> | undefined): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params?.[name] ?? '')));
}

function queryString(query: Record<string, unknown> | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function send(
  method: Method,
  url: string,
  body: unknown,
  idempotencyKey: string | undefined,
  signal: AbortSignal | undefined,
  accept: string,
): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: method.toUpperCase(),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'The server could not be reached.');
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function errorOf(response: Response): Promise<ApiError> {
  if (response.status === 401) onUnauthorized();
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } & Record<string, unknown> };
    if (parsed.error?.code) {
      return new ApiError(response.status, parsed.error.code, parsed.error.message ?? '', parsed.error);
    }
  } catch {
    // Not JSON: a proxy's or the gateway's own page.
  }
  return new ApiError(response.status, `http_${response.status}`, text.slice(0, 200));
}

export async function call<M extends Method, P extends PathsWith<M>>(
  method: M,
  path: P,
  options: Options<P, M> = {},
): Promise<Ok<P, M>> {
  const url =
    fillPath(path, options.params as Record<string, unknown> | undefined) +
    queryString(options.query as Record<string, unknown> | undefined);
  const response = await send(method, url, options.body, options.idempotencyKey, options.signal, 'application/json');
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as Ok<P, M>;
}

/** For the endpoints that answer HTML (the receipt). */
export async function callText<P extends PathsWith<'get'>>(
  path: P,
  options: { params?: PathParams<P, 'get'>; signal?: AbortSignal } = {},
): Promise<string> {
  const url = fillPath(path, options.params as Record<string, unknown> | undefined);
  const response = await send('get', url, undefined, undefined, options.signal, 'text/html');
  return response.text();
}

/** A GET answered with a file (e.g. a receipt's PDF), as a Blob. */
export async function callBlob<P extends PathsWith<'get'>>(
  path: P,
  accept: string,
  options: { params?: PathParams<P, 'get'>; query?: Record<string, string> } = {},
): Promise<Blob> {
  const url = fillPath(path, options.params as Record<string, unknown> | undefined);
  const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
  const response = await send('get', url + query, undefined, undefined, undefined, accept);
  return response.blob();
}

export const api = {
  get: <P extends PathsWith<'get'>>(path: P, options?: Options<P, 'get'>) => call('get', path, options),
  post: <P extends PathsWith<'post'>>(path: P, options?: Options<P, 'post'>) => call('post', path, options),
  put: <P extends PathsWith<'put'>>(path: P, options?: Options<P, 'put'>) => call('put', path, options),
  delete: <P extends PathsWith<'delete'>>(path: P, options?: Options<P, 'delete'>) => call('delete', path, options),
};

export type { paths, components } from './schema';
