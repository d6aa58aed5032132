// Sign-in in AWS: OAuth 2.0 Authorization Code with PKCE (RFC 7636, S256) against the identity
// provider that issues our JWTs — the optional Cognito user pool's hosted sign-in, or any OIDC
// provider whose ID tokens carry `roles` and `org`. The console is a public client (no secret in
// the browser); the code verifier stays in this tab's sessionStorage until the token request, and
// `state` ties the callback to the sign-in this tab started. The ID token is the bearer token the
// API verifies (its audience is the app client).
import type { OidcSettings } from './config';

const PENDING = 'azora.oidc.pending';
export const CALLBACK_PATH = '/auth/callback';

export class SignInError extends Error {}

interface Pending {
  verifier: string;
  state: string;
  next: string | null;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `bytes` random bytes, base64url: 32 give a 43-character verifier (RFC 7636 allows 43 to 128). */
export function randomToken(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function callbackUrl(): string {
  return `${window.location.origin}${CALLBACK_PATH}`;
}

/** Sends the browser to the provider's sign-in page; it comes back to `CALLBACK_PATH`. */
export async function beginSignIn(settings: OidcSettings, next: string | null): Promise<void> {
  const pending: Pending = { verifier: randomToken(32), state: randomToken(16), next };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(settings.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: callbackUrl(),
    scope: settings.scope ?? 'openid email profile',
    state: pending.state,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.toString());
}

function takePending(): Pending | null {
  const raw = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  try {
    const p = JSON.parse(raw ?? 'null') as Partial<Pending> | null;
    return p && typeof p.verifier === 'string' && typeof p.state === 'string'
      ? { verifier: p.verifier, state: p.state, next: typeof p.next === 'string' ? p.next : null }
      : null;
  } catch {
    return null;
  }
}

/** On `CALLBACK_PATH`: checks `state` and trades the code (with the verifier) for the ID token. */
export async function finishSignIn(settings: OidcSettings, search: URLSearchParams): Promise<{ idToken: string; next: string | null }> {
  const pending = takePending();
  const refused = search.get('error');
  if (refused) throw new SignInError(search.get('error_description') || `The identity provider refused: ${refused}.`);
  if (!pending || !search.get('state') || search.get('state') !== pending.state) {
    throw new SignInError('This sign-in did not start in this tab (or was used already). Please sign in again.');
  }
  const code = search.get('code');
  if (!code) throw new SignInError('The identity provider sent no authorization code. Please sign in again.');
  let response: Response;
  try {
    response = await fetch(settings.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: settings.clientId,
        code,
        redirect_uri: callbackUrl(),
        code_verifier: pending.verifier,
      }),
    });
  } catch {
    throw new SignInError('The identity provider could not be reached. Please try again.');
  }
  const body = (await response.json().catch(() => null)) as { id_token?: unknown } | null;
  if (!response.ok || typeof body?.id_token !== 'string') {
    throw new SignInError('The identity provider did not accept this sign-in. Please sign in again.');
  }
  return { idToken: body.id_token, next: pending.next };
}

/** Where signing out ends the provider's session too, then comes back to the console. */
export function signOutUrl(settings: OidcSettings): string | null {
  if (!settings.logoutUrl) return null;
  const url = new URL(settings.logoutUrl);
  url.search = new URLSearchParams({ client_id: settings.clientId, logout_uri: `${window.location.origin}/` }).toString();
  return url.toString();
}
