// How a card is entered and a bank's challenge is shown. Locally, the Stripe sandbox's test
// cards and its 3-D Secure page; in AWS this is where Stripe.js's Payment Element goes (not built
// yet: the console then says card payments are unavailable).
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

/** The URL of the challenge page for a PaymentIntent or a SetupIntent, on the console's own origin. */
export function challengeUrl(clientSecret: string): string | null {
  const intent = paymentIntentOf(clientSecret) ?? setupIntentOf(clientSecret);
  return intent ? `/_sandbox/3ds/${encodeURIComponent(intent)}` : null;
}
