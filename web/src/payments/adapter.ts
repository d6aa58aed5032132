// How a card is entered and a bank's challenge is shown. Locally, the Stripe sandbox's test
// cards and its 3-D Secure page in our dialog; deployed, Stripe.js's Payment Element and its own
// 3-D Secure modal (`./stripe.ts`), with the publishable key from `/console-config.json`.
import { consoleConfig } from '../config';
import { localFeatures } from '../local';
import type { ChallengeOutcome } from './ThreeDSecure';

export interface TestCard {
  paymentMethodId: string;
  label: string;
  note: string;
}

/** The sandbox's cards (infra/stripe-sandbox/src/resources/payment_methods.rs). */
export const SANDBOX_CARDS: TestCard[] = [
  { paymentMethodId: 'pm_card_visa', label: 'Visa •••• 4242', note: 'Succeeds' },
  { paymentMethodId: 'pm_card_authenticationRequired', label: 'Visa •••• 3184', note: 'Asks for 3-D Secure' },
  { paymentMethodId: 'pm_card_chargeDeclined', label: 'Visa •••• 0002', note: 'Declined' },
  { paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds', label: 'Visa •••• 9995', note: 'Declined: insufficient funds' },
  { paymentMethodId: 'pm_card_mastercard', label: 'Mastercard •••• 4444', note: 'Succeeds' },
];

/** Where cards come from in this build. */
export type PaymentMode = { kind: 'sandbox' } | { kind: 'stripe'; publishableKey: string } | { kind: 'none' };

let mode: Promise<PaymentMode> | null = null;

/** The sandbox under the local server; Stripe.js when a publishable key is configured; else none. */
export function paymentMode(): Promise<PaymentMode> {
  mode ??= (async (): Promise<PaymentMode> => {
    if ((await localFeatures()).sandbox3ds) return { kind: 'sandbox' };
    const { stripePublishableKey } = await consoleConfig();
    return stripePublishableKey ? { kind: 'stripe', publishableKey: stripePublishableKey } : { kind: 'none' };
  })();
  return mode;
}

/** How a bank's challenge is shown: the sandbox's page in our dialog, or Stripe.js's own modal. */
export type Challenge = { kind: 'dialog'; url: string } | { kind: 'stripe'; run: () => Promise<ChallengeOutcome> };

/** The card form a screen pays or saves with, whichever adapter renders it. */
export interface CardForm {
  /** The PaymentMethod to give the API; rejects with a `CardError` when the card cannot be used. */
  paymentMethodId(): Promise<string>;
  /** The challenge of an intent the API answered `requires_action` for (`null`: none can be shown). */
  challenge(clientSecret: string): Challenge | null;
}

/** The PaymentIntent id inside a client secret (`pi_..._secret_...`), as Stripe.js reads it. */
export function paymentIntentOf(clientSecret: string): string | null {
  const id = clientSecret.split('_secret_')[0];
  return id && id.startsWith('pi_') ? id : null;
}

/** The SetupIntent id inside a client secret (`seti_..._secret_...`). */
export function setupIntentOf(clientSecret: string): string | null {
  const id = clientSecret.split('_secret_')[0];
  return id && id.startsWith('seti_') ? id : null;
}

/** The URL of the sandbox's challenge page for a PaymentIntent or a SetupIntent, on the console's own origin. */
export function challengeUrl(clientSecret: string): string | null {
  const intent = paymentIntentOf(clientSecret) ?? setupIntentOf(clientSecret);
  return intent ? `/_sandbox/3ds/${encodeURIComponent(intent)}` : null;
}
