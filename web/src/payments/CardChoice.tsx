// The card to pay with: locally the Stripe sandbox's test cards; a deployed build without
// Stripe.js says card payments are unavailable.
import { AsyncView, useAsync } from '../components/ui';
import { localFeatures } from '../local';
import { SANDBOX_CARDS } from './adapter';

export function CardChoice({ name, value, onChange }: { name: string; value: string; onChange: (pm: string) => void }) {
  const [features] = useAsync(() => localFeatures(), []);
  return (
    <AsyncView value={features} what="payment options">
      {(f) =>
        f.sandbox3ds ? (
          <fieldset className="cards">
            <legend>Card (Stripe sandbox test cards)</legend>
            {SANDBOX_CARDS.map((c) => (
              <label key={c.paymentMethodId} className="radio">
                <input
                  type="radio"
                  name={name}
                  value={c.paymentMethodId}
                  checked={value === c.paymentMethodId}
                  onChange={() => onChange(c.paymentMethodId)}
                />
                {c.label} <span className="muted">— {c.note}</span>
              </label>
            ))}
          </fieldset>
        ) : (
          <p className="notice">Card payments need Stripe.js, which this build does not include yet.</p>
        )
      }
    </AsyncView>
  );
}
