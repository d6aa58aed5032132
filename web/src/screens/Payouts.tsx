import { useState } from 'react';
import { api } from '../api/client';
import { ErrorMessage, Notice } from '../components/ui';
import { InstructorNav } from './Instructor';

/**
 * Where Stripe Connect's onboarding returns (`/instructor/payouts`, `?refresh=1` when the link
 * expired). The API creates the account once and hands out a fresh onboarding link each time.
 */
export function InstructorPayouts({ query }: { query: URLSearchParams }) {
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState<{ accountId: string; payoutsEnabled: boolean; onboardingUrl: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const fetchLink = async () => {
    setBusy(true);
    setError(null);
    try {
      const account = await api.post('/api/instructors/me/payout-account');
      setStatus(account);
      return account;
    } catch (e) {
      setError(e);
      return null;
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Payouts</h1>
      <InstructorNav />
      <p>You earn 70% of each sale. Stripe pays it out to your bank account once you have set up payouts.</p>
      {query.has('refresh') && <Notice>That onboarding link expired. Continue with a fresh one.</Notice>}
      {!status && <p className="muted">Back from Stripe? Check the status: payouts start once Stripe has verified your details.</p>}
      {status && (
        <p data-testid="payouts-status">
          Account <code>{status.accountId}</code>:{' '}
          {status.payoutsEnabled ? (
            <span className="badge ok">Payouts enabled</span>
          ) : (
            <span className="badge">Onboarding not finished</span>
          )}
        </p>
      )}
      <ErrorMessage error={error} />
      <div className="actions">
        <button
          type="button"
          disabled={busy}
          onClick={async () => {
            const account = await fetchLink();
            if (account && !account.payoutsEnabled) location.assign(account.onboardingUrl);
          }}
        >
          {status?.payoutsEnabled ? 'Update payout details' : 'Set up payouts with Stripe'}
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={fetchLink}>
          Check status
        </button>
      </div>
    </section>
  );
}
