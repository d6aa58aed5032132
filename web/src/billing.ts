// Words and waiting shared by the plans and billing screens. Tier and feature names come from
// the API (`GET /api/plans`); only how an identifier reads is decided here.
import { api, ApiError, type Ok } from './api/client';

export type Interval = 'month' | 'year';
export type Current = Ok<'/api/subscriptions/current', 'get'>;

const ACRONYMS = new Set(['ai', 'api', 'sso']);

/** `ai_tutor` → "AI tutor", `offline_downloads` → "Offline downloads". */
export function featureLabel(feature: string): string {
  const words = feature.split('_').map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w));
  const [first = '', ...rest] = words;
  return [first.charAt(0).toUpperCase() + first.slice(1), ...rest].join(' ');
}

export function tierLabel(tier: string): string {
  return tier.charAt(0).toUpperCase() + tier.slice(1);
}

export function intervalLabel(interval: string | null | undefined): string {
  return interval === 'year' ? 'year' : 'month';
}

export function planName(tier: string, interval: string | null | undefined): string {
  if (!interval) return tierLabel(tier);
  return `${tierLabel(tier)} (${interval === 'year' ? 'yearly' : 'monthly'})`;
}

/** Polls the caller's plan until `done` (Stripe's news reaches it through the webhook). */
export async function waitForPlan(done: (c: Current) => boolean, timeoutMs = 20_000): Promise<Current> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await api.get('/api/subscriptions/current');
    if (done(current)) return current;
    if (Date.now() > deadline) {
      throw new ApiError(0, 'plan_not_updated', 'Your payment went through, but your plan has not updated yet. Refresh in a minute.');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
