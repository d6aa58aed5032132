// The deployed console's runtime settings, `/console-config.json` beside index.html (written by
// `make deploy-web`), so one build serves any stack. Locally the file does not exist (the local
// server answers the console's index.html instead), and nothing is configured.
export interface ConsoleConfig {
  /** Stripe's publishable key (`pk_live_…` / `pk_test_…`): card entry through Stripe.js. */
  stripePublishableKey?: string;
  /** Sign-in through the identity provider (Authorization Code + PKCE; `oidc.ts`). */
  oidc?: OidcSettings;
}

/** A public OAuth client of the provider that issues the API's JWTs (e.g. the Cognito user pool). */
export interface OidcSettings {
  authorizeUrl: string;
  tokenUrl: string;
  /** Ends the provider's session on sign-out (Cognito's `/logout`), if it has one. */
  logoutUrl?: string;
  clientId: string;
  /** What the sign-in button says, e.g. the organisation's name for its identity provider. */
  label?: string;
  scope?: string;
}

function httpsUrl(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
}

function oidcOf(v: unknown): OidcSettings | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!httpsUrl(o.authorizeUrl) || !httpsUrl(o.tokenUrl) || typeof o.clientId !== 'string' || !o.clientId) return undefined;
  return {
    authorizeUrl: o.authorizeUrl,
    tokenUrl: o.tokenUrl,
    logoutUrl: httpsUrl(o.logoutUrl) ? o.logoutUrl : undefined,
    clientId: o.clientId,
    label: typeof o.label === 'string' ? o.label : undefined,
    scope: typeof o.scope === 'string' ? o.scope : undefined,
  };
}

let config: Promise<ConsoleConfig> | null = null;

export function consoleConfig(): Promise<ConsoleConfig> {
  config ??= fetch('/console-config.json', { headers: { accept: 'application/json' } })
    .then(async (r) => {
      if (!r.ok || !r.headers.get('content-type')?.includes('application/json')) return {};
      const body = (await r.json()) as Record<string, unknown>;
      const key = body.stripePublishableKey;
      return {
        stripePublishableKey: typeof key === 'string' && /^pk_(live|test)_[A-Za-z0-9_]+$/.test(key) ? key : undefined,
        oidc: oidcOf(body.oidc),
      };
    })
    .catch(() => ({}));
  return config;
}
