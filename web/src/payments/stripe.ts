// Stripe.js's Payment Element, for deployed builds: Stripe's "finalize payments on the server"
// flow, which is our API's. The element collects the card and creates a PaymentMethod in the
// browser (card numbers never reach us); the API creates and confirms the PaymentIntent (or
// SetupIntent) with it; a `requires_action` answer's client secret goes to `handleNextAction`,
// which shows the bank's 3-D Secure challenge in Stripe's own modal.
import { loadStripe } from '@stripe/stripe-js/pure';
import type { Stripe, StripeElements, StripeElementsOptionsMode, StripePaymentElement } from '@stripe/stripe-js';
import type { ChallengeOutcome } from './ThreeDSecure';

/** What the card form is for: a payment of `amount` (minor units), or saving a card. */
export type CardPurpose = { mode: 'payment'; amount: number; currency: string } | { mode: 'setup'; currency: string };

/** A refusal Stripe.js answered in the browser, before anything reached our API. */
export class CardError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let loaded: Promise<Stripe | null> | null = null;

/** Stripe.js, loaded from js.stripe.com once (never bundled: Stripe requires its own origin). */
export function stripeFor(publishableKey: string): Promise<Stripe | null> {
  loaded ??= loadStripe(publishableKey);
  return loaded;
}

export function elementsOptions(purpose: CardPurpose): StripeElementsOptionsMode {
  const currency = purpose.currency.toLowerCase();
  return purpose.mode === 'payment'
    ? { mode: 'payment', amount: purpose.amount, currency, paymentMethodCreation: 'manual' }
    : { mode: 'setup', currency, paymentMethodCreation: 'manual' };
}

/** Mounts the Payment Element into `container`; returns it with its Elements group. */
export function mountPaymentElement(
  stripe: Stripe,
  purpose: CardPurpose,
  container: HTMLElement,
): { elements: StripeElements; element: StripePaymentElement } {
  const elements = stripe.elements(elementsOptions(purpose));
  const element = elements.create('payment', { layout: 'tabs' });
  element.mount(container);
  return { elements, element };
}

/** Validates the form and creates the PaymentMethod our API is then given. */
export async function createPaymentMethod(stripe: Stripe, elements: StripeElements): Promise<string> {
  const submitted = await elements.submit();
  if (submitted.error) {
    throw new CardError('card_invalid', submitted.error.message ?? 'Check the card details.');
  }
  const { paymentMethod, error } = await stripe.createPaymentMethod({ elements });
  if (error || !paymentMethod) {
    throw new CardError(error?.code ?? 'card_invalid', error?.message ?? 'Stripe could not read this card.');
  }
  return paymentMethod.id;
}

/** Runs the next action (3-D Secure) of an intent our API answered `requires_action` for. */
export async function handleNextAction(stripe: Stripe, clientSecret: string): Promise<ChallengeOutcome> {
  const result = await stripe.handleNextAction({ clientSecret });
  if (result.error) return 'failed';
  const status = (result.paymentIntent ?? result.setupIntent)?.status;
  return status === 'succeeded' || status === 'processing' || status === 'requires_capture' ? 'completed' : 'failed';
}
