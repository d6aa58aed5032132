// Placeholder: the plans API (one source for tiers, prices and features) is being built
// separately; this screen is filled in when it lands.
export function Pricing() {
  return (
    <section>
      <h1>Plans</h1>
      <div className="notice" role="status" data-testid="pricing-placeholder">
        Plans and pricing are coming soon. Subscribing, upgrading and cancelling will be available here once the plans
        API is live.
      </div>
    </section>
  );
}

/** The page the dunning email links to (`/billing/payment-method`); it needs the subscriptions
 * screens, which come with the plans API. */
export function Billing() {
  return (
    <section>
      <h1>Billing</h1>
      <div className="notice" role="status" data-testid="billing-placeholder">
        Updating your card and viewing invoices will be available here soon. Until then, contact support to update the
        card for your subscription.
      </div>
    </section>
  );
}
