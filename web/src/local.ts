// What only the local server offers (infra/local/src/console.rs): dev sign-in and the Stripe
// sandbox's 3-D Secure page. A deployed console gets no answer here and hides both.
import { ApiError } from './api/client';

export interface LocalFeatures {
  local: boolean;
  devSignIn: boolean;
  sandbox3ds: boolean;
}

const NONE: LocalFeatures = { local: false, devSignIn: false, sandbox3ds: false };
let probe: Promise<LocalFeatures> | null = null;

export function localFeatures(): Promise<LocalFeatures> {
  probe ??= fetch('/_local/console', { headers: { accept: 'application/json' } })
    .then(async (r) => {
      if (!r.ok || !r.headers.get('content-type')?.includes('application/json')) return NONE;
      const body = (await r.json()) as Partial<LocalFeatures>;
      return { local: body.local === true, devSignIn: body.devSignIn === true, sandbox3ds: body.sandbox3ds === true };
    })
    .catch(() => NONE);
  return probe;
}

export interface DevToken {
  token: string;
}

/** A dev JWT from the local server (`POST /_local/token`). */
export async function devToken(role: string, sub: string, org: string | null): Promise<DevToken> {
  const response = await fetch('/_local/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ role, sub, org: org || null }),
  });
  const body = (await response.json().catch(() => ({}))) as {
    token?: string;
    error?: { code: string; message: string; field?: string };
  };
  if (!response.ok || !body.token) {
    throw new ApiError(response.status, body.error?.code ?? `http_${response.status}`, body.error?.message ?? '', body.error ?? {});
  }
  return { token: body.token };
}
