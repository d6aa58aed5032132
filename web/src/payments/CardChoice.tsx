// The card to pay with or save: locally the Stripe sandbox's test cards; deployed, Stripe.js's
// Payment Element; a build with neither says card payments are unavailable. Either way the
// screen gets a `CardForm` (through `onForm`) to ask for the PaymentMethod and show challenges.
import { useEffect, useRef, useState } from 'react';
import { AsyncView, useAsync } from '../components/ui';
import { challengeUrl, paymentMode, SANDBOX_CARDS, type CardForm } from './adapter';
import { createPaymentMethod, handleNextAction, mountPaymentElement, stripeFor, type CardPurpose } from './stripe';

export function CardChoice({ name, purpose, onForm }: { name: string; purpose: CardPurpose; onForm: (form: CardForm | null) => void }) {
  const [mode] = useAsync(() => paymentMode(), []);
  return (
    <AsyncView value={mode} what="payment options">
      {(m) =>
        m.kind === 'sandbox' ? (
          <SandboxCards name={name} onForm={onForm} />
        ) : m.kind === 'stripe' ? (
          <StripePaymentElement publishableKey={m.publishableKey} purpose={purpose} onForm={onForm} />
        ) : (
          <p className="notice">Card payments are not available here: this console has no Stripe publishable key.</p>
        )
      }
    </AsyncView>
  );
}

function SandboxCards({ name, onForm }: { name: string; onForm: (form: CardForm | null) => void }) {
  const [card, setCard] = useState(SANDBOX_CARDS[0]!.paymentMethodId);
  useEffect(() => {
    onForm({
      paymentMethodId: () => Promise.resolve(card),
      challenge: (clientSecret) => {
        const url = challengeUrl(clientSecret);
        return url ? { kind: 'dialog', url } : null;
      },
    });
    return () => onForm(null);
  }, [card, onForm]);
  return (
    <fieldset className="cards">
      <legend>Card (Stripe sandbox test cards)</legend>
      {SANDBOX_CARDS.map((c) => (
        <label key={c.paymentMethodId} className="radio">
          <input type="radio" name={name} value={c.paymentMethodId} checked={card === c.paymentMethodId} onChange={() => setCard(c.paymentMethodId)} />
          {c.label} <span className="muted">— {c.note}</span>
        </label>
      ))}
    </fieldset>
  );
}

function StripePaymentElement({
  publishableKey,
  purpose,
  onForm,
}: {
  publishableKey: string;
  purpose: CardPurpose;
  onForm: (form: CardForm | null) => void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const purposeKey = JSON.stringify(purpose);
  useEffect(() => {
    let cancelled = false;
    let unmount: (() => void) | null = null;
    stripeFor(publishableKey).then(
      (stripe) => {
        if (cancelled || !container.current) return;
        if (!stripe) return setFailed(true);
        const { elements, element } = mountPaymentElement(stripe, JSON.parse(purposeKey) as CardPurpose, container.current);
        unmount = () => element.destroy();
        onForm({
          paymentMethodId: () => createPaymentMethod(stripe, elements),
          challenge: (clientSecret) => ({ kind: 'stripe', run: () => handleNextAction(stripe, clientSecret) }),
        });
      },
      () => !cancelled && setFailed(true),
    );
    return () => {
      cancelled = true;
      unmount?.();
      onForm(null);
    };
  }, [publishableKey, purposeKey, onForm]);
  return (
    <fieldset className="cards">
      <legend>Card</legend>
      <div ref={container} data-testid="payment-element" />
      {failed && <p className="error" role="alert">Stripe could not be loaded. Check your connection and reload the page.</p>}
    </fieldset>
  );
}
