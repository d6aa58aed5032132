// Plans and pricing: tiers, prices per interval and the feature comparison, all from
// `GET /api/plans` (the one definition in the domain crate); subscribing to Pro with the payment
// adapter's cards, including a 3-D Secure challenge and a declined card.
import { useCallback, useRef, useState } from 'react';
import { api, ApiError, newIdempotencyKey, type Ok } from '../api/client';
import { humanMessage } from '../api/errors';
import { AsyncView, ErrorMessage, useAsync } from '../components/ui';
import { formatMoney } from '../format';
import type { CardForm } from '../payments/adapter';
import { CardChoice } from '../payments/CardChoice';
import { CardError } from '../payments/stripe';
import { ThreeDSecureDialog, type ChallengeOutcome } from '../payments/ThreeDSecure';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import { featureLabel, intervalLabel, tierLabel, waitForPlan, type Interval } from '../billing';

type Plans = Ok<'/api/plans', 'get'>;
type Plan = Plans['plans'][number];

export function Pricing() {
  const session = useSession();
  const [plans, reloadPlans] = useAsync((signal) => api.get('/api/plans', { signal }), []);
  const [current] = useAsync(
    (signal) => (session ? api.get('/api/subscriptions/current', { signal }) : Promise.resolve(null)),
    [session?.sub ?? null],
  );
  const [interval, setBillingInterval] = useState<Interval>('month');
  const [subscribing, setSubscribing] = useState(false);
  const tier = current.state === 'ready' ? (current.data?.tier ?? 'free') : null;

  return (
    <section>
      <h1>Plans and pricing</h1>
      <fieldset className="tabs" aria-label="Billing interval">
        <legend className="sr-only">Billing interval</legend>
        {(['month', 'year'] as const).map((i) => (
          <label key={i} className="radio">
            <input type="radio" name="interval" value={i} checked={interval === i} onChange={() => setBillingInterval(i)} />
            {i === 'month' ? 'Monthly' : 'Yearly'}
          </label>
        ))}
      </fieldset>
      <AsyncView value={plans} what="plans" retry={reloadPlans}>
        {(data) => (
          <>
            <div className="grid plans">
              {data.plans.map((plan) => (
                <PlanCard
                  key={plan.tier}
                  plan={plan}
                  interval={interval}
                  currentTier={tier}
                  signedIn={!!session}
                  onSubscribe={() => setSubscribing(true)}
                />
              ))}
            </div>
            {subscribing && tier === 'free' && (
              <Subscribe plan={data.plans.find((p) => p.tier === 'pro')} interval={interval} onClose={() => setSubscribing(false)} />
            )}
            <h2>Compare plans</h2>
            <table className="table" aria-label="Feature comparison">
              <thead>
                <tr>
                  <th scope="col">Feature</th>
                  {data.plans.map((p) => (
                    <th key={p.tier} scope="col">
                      {tierLabel(p.tier)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.features.map((f) => (
                  <tr key={f.feature}>
                    <th scope="row">{featureLabel(f.feature)}</th>
                    {data.plans.map((p) => (
                      <td key={p.tier} data-included={p.features.includes(f.feature)}>
                        {p.features.includes(f.feature) ? '✓ Included' : '—'}
                      </td>
                    ))}
                  </tr>
                ))}
                <tr>
                  <th scope="row">Token rewards</th>
                  {data.plans.map((p) => (
                    <td key={p.tier}>×{(p.tokenMultiplierPercent / 100).toFixed(1)}</td>
                  ))}
                </tr>
              </tbody>
            </table>
          </>
        )}
      </AsyncView>
    </section>
  );
}

function PlanCard({
  plan,
  interval,
  currentTier,
  signedIn,
  onSubscribe,
}: {
  plan: Plan;
  interval: Interval;
  currentTier: string | null;
  signedIn: boolean;
  onSubscribe: () => void;
}) {
  const price = plan.prices.find((p) => p.interval === interval);
  const monthly = plan.prices.find((p) => p.interval === 'month');
  const yearlySaving =
    interval === 'year' && price && monthly && monthly.currency === price.currency ? monthly.amount * 12 - price.amount : 0;
  const isCurrent = currentTier === plan.tier;
  return (
    <article className="card plan" data-tier={plan.tier} aria-labelledby={`plan-${plan.tier}`}>
      <h3 id={`plan-${plan.tier}`}>{tierLabel(plan.tier)}</h3>
      <p className="price" data-testid={`price-${plan.tier}`}>
        {plan.purchase === 'free'
          ? 'Free'
          : price
            ? `${formatMoney(price.amount, price.currency)} / ${intervalLabel(interval)}`
            : plan.purchase === 'licenses'
              ? 'Per seat, with an organisation license'
              : '—'}
      </p>
      {yearlySaving > 0 && price && <p className="muted">Save {formatMoney(yearlySaving, price.currency)} a year</p>}
      <ul>
        {plan.features.length === 0 && <li>The catalog and course purchases</li>}
        {plan.features.map((f) => (
          <li key={f}>{featureLabel(f)}</li>
        ))}
        <li>Token rewards ×{(plan.tokenMultiplierPercent / 100).toFixed(1)}</li>
      </ul>
      {isCurrent ? (
        <p className="badge" data-testid={`current-${plan.tier}`}>
          Your current plan
        </p>
      ) : plan.purchase === 'subscription' ? (
        !signedIn ? (
          <Link to="/signin?next=%2Fpricing" className="button">
            Sign in to subscribe
          </Link>
        ) : currentTier === 'free' ? (
          <button type="button" onClick={onSubscribe}>
            Subscribe to {tierLabel(plan.tier)}
          </button>
        ) : currentTier ? (
          <Link to="/billing" className="button">
            Change plan in Billing
          </Link>
        ) : null
      ) : plan.purchase === 'licenses' ? (
        signedIn ? (
          <Link to="/enterprise/quotes" className="button">
            Get a quote
          </Link>
        ) : (
          <Link to="/signin?next=%2Fenterprise%2Fquotes" className="button">
            Sign in for a quote
          </Link>
        )
      ) : null}
    </article>
  );
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'paying' }
  | { kind: 'challenge'; url: string }
  | { kind: 'activating' }
  | { kind: 'declined'; error: ApiError }
  | { kind: 'failed'; error: unknown };

function Subscribe({ plan, interval, onClose }: { plan: Plan | undefined; interval: Interval; onClose: () => void }) {
  const form = useRef<CardForm | null>(null);
  const onForm = useCallback((f: CardForm | null) => {
    form.current = f;
  }, []);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const price = plan?.prices.find((p) => p.interval === interval);
  if (!plan || !price) return null;

  const activated = async () => {
    setPhase({ kind: 'activating' });
    try {
      await waitForPlan((c) => c.tier === plan.tier && c.status === 'active');
      navigate('/billing?subscribed=1');
    } catch (e) {
      setPhase({ kind: 'failed', error: e });
    }
  };

  const subscribe = async () => {
    setPhase({ kind: 'paying' });
    try {
      const card = form.current;
      if (!card) throw new ApiError(0, 'payment_unavailable', 'Card payments are not available here.');
      const paymentMethodId = await card.paymentMethodId();
      const created = await api.post('/api/subscriptions/create', {
        idempotencyKey: newIdempotencyKey('subscribe'),
        body: { tier: 'pro', interval, paymentMethodId },
      });
      if (created.status === 'incomplete') {
        const challenge = created.clientSecret ? card.challenge(created.clientSecret) : null;
        if (!challenge) throw new ApiError(0, 'payment_rejected', 'This payment needs an authentication step we cannot show.');
        if (challenge.kind === 'dialog') setPhase({ kind: 'challenge', url: challenge.url });
        else onChallenge(await challenge.run());
        return;
      }
      await activated();
    } catch (e) {
      const error = e instanceof CardError ? new ApiError(0, e.code, e.message) : e;
      if (error instanceof ApiError && error.code === 'card_declined') setPhase({ kind: 'declined', error });
      else setPhase({ kind: 'failed', error });
    }
  };

  const onChallenge = (outcome: ChallengeOutcome) => {
    if (outcome === 'completed') void activated();
    else
      setPhase({
        kind: 'failed',
        error: new ApiError(0, 'authentication_failed', 'The bank did not confirm this payment. Nothing was charged.'),
      });
  };

  const busy = phase.kind === 'paying' || phase.kind === 'challenge' || phase.kind === 'activating';
  return (
    <section className="card" aria-labelledby="subscribe-title">
      <h2 id="subscribe-title">
        Subscribe to {tierLabel(plan.tier)} — {formatMoney(price.amount, price.currency)} / {intervalLabel(interval)}
      </h2>
      <p className="muted">
        Charged today, then every {intervalLabel(interval)} until you cancel. Cancel any time; you keep{' '}
        {tierLabel(plan.tier)} until the end of the period you paid for.
      </p>
      <CardChoice name="subscribe-card" purpose={{ mode: 'payment', amount: price.amount, currency: price.currency }} onForm={onForm} />
      {phase.kind === 'declined' && (
        <div className="error" role="alert" data-code="card_declined">
          <strong>{humanMessage(phase.error)}</strong>
        </div>
      )}
      {phase.kind === 'failed' && <ErrorMessage error={phase.error} />}
      {phase.kind === 'activating' && (
        <p className="loading" role="status">
          Payment received; activating your plan…
        </p>
      )}
      <div className="actions">
        <button type="button" className="primary" onClick={subscribe} disabled={busy}>
          {phase.kind === 'paying' ? 'Subscribing…' : `Pay ${formatMoney(price.amount, price.currency)} and subscribe`}
        </button>
        <button type="button" className="secondary" onClick={onClose} disabled={busy}>
          Not now
        </button>
      </div>
      {phase.kind === 'challenge' && <ThreeDSecureDialog url={phase.url} onDone={onChallenge} />}
    </section>
  );
}
