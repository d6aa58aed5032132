// The deployed console's runtime settings, `/console-config.json` beside index.html (written by
// `make deploy-web`), so one build serves any stack. Locally the file does not exist (the local
// server answers the console's index.html instead), and nothing is configured.
export interface ConsoleConfig {
  /** Stripe's publishable key (`pk_live_…` / `pk_test_…`): card entry through Stripe.js. */
  stripePublishableKey?: string;
}

let config: Promise<ConsoleConfig> | null = null;

export function consoleConfig(): Promise<ConsoleConfig> {
  config ??= fetch('/console-config.json', { headers: { accept: 'application/json' } })
    .then(async (r) => {
      if (!r.ok || !r.headers.get('content-type')?.includes('application/json')) return {};
      const body = (await r.json()) as Record<string, unknown>;
      const key = body.stripePublishableKey;
      return typeof key === 'string' && /^pk_(live|test)_[A-Za-z0-9_]+$/.test(key) ? { stripePublishableKey: key } : {};
    })
    .catch(() => ({}));
  return config;
}
