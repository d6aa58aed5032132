// Billing: the current plan and its status, a past-due banner, the pending change, and the changes
// a subscriber can make — upgrade to yearly with the proration quoted before confirming (and
// charged exactly as quoted), switch to monthly or cancel at the period end, resume — plus the
// invoices, and the saved cards (add with 3-D Secure, choose the default, remove). `/billing/payment-method`
// (the dunning email's link) opens it at the card section.
import { useCallback, useRef, useState } from 'react';
import { api, ApiError, newIdempotencyKey, type Ok } from '../api/client';
import { AsyncView, Empty, ErrorMessage, MoreButton, Notice, useAsync } from '../components/ui';
import { formatDate, formatMoney } from '../format';
import type { CardForm } from '../payments/adapter';
import { CardChoice } from '../payments/CardChoice';
import { CardError } from '../payments/stripe';
import { ThreeDSecureDialog, type ChallengeOutcome } from '../payments/ThreeDSecure';
import { Link } from '../router';
import { intervalLabel, planName, tierLabel, waitForPlan, type Current, type Interval } from '../billing';

type Invoice = Ok<'/api/subscriptions/invoices', 'get'>['invoices'][number];
type Plans = Ok<'/api/plans', 'get'>;
/** A change the subscriber is considering: to another interval of their tier, or to Free. */
type Target = { tier: 'pro'; interval: Interval } | { tier: 'free' };

export function Billing({ focus, query }: { focus?: 'payment-method'; query?: URLSearchParams }) {
  const [current, reload] = useAsync((signal) => api.get('/api/subscriptions/current', { signal }), []);
  const [plans] = useAsync((signal) => api.get('/api/plans', { signal }), []);
  const [invoicesKey, setInvoicesKey] = useState(0);
  const [target, setTarget] = useState<Target | null>(null);
  const [done, setDone] = useState<string | null>(query?.get('subscribed') ? 'Welcome to Pro! Your subscription is active.' : null);

  const changed = (message: string) => {
    setTarget(null);
    setDone(message);
    reload();
    setInvoicesKey((k) => k + 1);
  };

  return (
    <section>
      <h1>{focus === 'payment-method' ? 'Update your payment method' : 'Billing'}</h1>
      {focus === 'payment-method' && <PaymentMethod />}
      <AsyncView value={current} what="your plan" retry={reload}>
        {(c) => (
          <>
            {c.status === 'past_due' && (
              <div className="error banner" role="alert" data-testid="past-due">
                <strong>Your last payment failed.</strong> Update your card so that you keep{' '}
                {planName(c.tier, c.interval)}; otherwise your plan moves to Free after the grace period.{' '}
                {focus !== 'payment-method' && <Link to="/billing/payment-method">Update your card</Link>}
              </div>
            )}
            {done && <Notice>{done}</Notice>}
            <PlanSummary current={c} plans={plans.state === 'ready' ? plans.data : null} />
            {target ? (
              <ChangeConfirm current={c} target={target} onCancel={() => setTarget(null)} onDone={changed} />
            ) : (
              <PlanActions current={c} onChoose={(t) => {
                  setDone(null);
                  setTarget(t);
                }} onDone={changed} />
            )}
          </>
        )}
      </AsyncView>
      <Invoices key={invoicesKey} />
      {focus !== 'payment-method' && <PaymentMethod />}
    </section>
  );
}

function priceOf(plans: Plans | null, tier: string, interval: string | null | undefined) {
  return plans?.plans.find((p) => p.tier === tier)?.prices.find((p) => p.interval === interval) ?? null;
}

function PlanSummary({ current: c, plans }: { current: Current; plans: Plans | null }) {
  const price = priceOf(plans, c.tier, c.interval);
  const pending = c.pendingChange;
  return (
    <div className="card" data-testid="plan" data-tier={c.tier} data-interval={c.interval ?? ''} data-status={c.status}>
      <h2>
        {planName(c.tier, c.interval)} <span className={`badge status-${c.status}`}>{c.status.replace('_', ' ')}</span>
      </h2>
      {c.source === 'license' && <p>Your Enterprise plan comes with your organisation&apos;s license ({c.orgId}).</p>}
      {c.source === 'pro_credit' && <p>Pro features from tokens you redeemed, until {formatDate(c.proCreditUntil)}.</p>}
      {price && !c.source && (
        <p>
          {formatMoney(price.amount, price.currency)} / {intervalLabel(c.interval)}
        </p>
      )}
      {c.tier === 'free' && !c.source && (
        <p>
          You are on Free. <Link to="/pricing">Compare plans</Link> to get certificates, offline downloads and more.
        </p>
      )}
      {pending ? (
        <p className="notice" data-testid="pending-change">
          {pending.tier === 'free'
            ? `Cancels on ${formatDate(pending.effectiveAt)}: you keep ${tierLabel(c.tier)} until then, then move to Free.`
            : `Switches to ${planName(pending.tier ?? c.tier, pending.interval)} on ${formatDate(pending.effectiveAt)}.`}
        </p>
      ) : (
        c.currentPeriodEnd &&
        c.tier !== 'free' &&
        c.status !== 'canceled' && (
          <p data-testid="renews">
            {c.source === 'license' ? 'License valid until' : 'Renews on'} {formatDate(c.currentPeriodEnd)}
          </p>
        )
      )}
    </div>
  );
}

function PlanActions({
  current: c,
  onChoose,
  onDone,
}: {
  current: Current;
  onChoose: (t: Target) => void;
  onDone: (message: string) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (c.source || c.tier !== 'pro' || c.status === 'canceled' || c.status === 'incomplete') return null;
  const resume = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.put('/api/subscriptions/update', { body: { tier: 'pro', interval: (c.interval ?? 'month') as Interval } });
      onDone(`You are staying on ${planName(c.tier, c.interval)}.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="actions">
      {c.pendingChange ? (
        <button type="button" onClick={resume} disabled={busy}>
          {busy ? 'Resuming…' : `Resume ${planName(c.tier, c.interval)}`}
        </button>
      ) : (
        <>
          {c.interval === 'month' && (
            <button type="button" onClick={() => onChoose({ tier: 'pro', interval: 'year' })}>
              Switch to yearly
            </button>
          )}
          {c.interval === 'year' && (
            <button type="button" className="secondary" onClick={() => onChoose({ tier: 'pro', interval: 'month' })}>
              Switch to monthly
            </button>
          )}
          <button type="button" className="secondary" onClick={() => onChoose({ tier: 'free' })}>
            Cancel subscription
          </button>
        </>
      )}
      <ErrorMessage error={error} />
    </div>
  );
}

/** Shows what a change costs today and when it takes effect (the API's preview), then makes it. */
function ChangeConfirm({
  current: c,
  target,
  onCancel,
  onDone,
}: {
  current: Current;
  target: Target;
  onCancel: () => void;
  onDone: (message: string) => void;
}) {
  const query = target.tier === 'free' ? { tier: 'free' as const } : { tier: 'pro' as const, interval: target.interval };
  const [quote, requote] = useAsync((signal) => api.get('/api/subscriptions/preview', { query, signal }), [query]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const confirm = async (q: Ok<'/api/subscriptions/preview', 'get'>) => {
    setBusy(true);
    setError(null);
    try {
      if (target.tier === 'free') {
        await api.post('/api/subscriptions/cancel', { body: { atPeriodEnd: true } });
        onDone(`Your subscription is canceled: you keep ${tierLabel(c.tier)} until ${formatDate(q.effectiveAt)}.`);
      } else if (q.change === 'upgrade') {
        const done = await api.put('/api/subscriptions/update', {
          body: { tier: 'pro', interval: target.interval, prorationDate: q.prorationDate ?? undefined },
        });
        const paid = done.prorationAmount ?? q.amountDue;
        // The new plan is recorded as Stripe reports it (through the webhook, when the answer
        // was older than what was already applied).
        await waitForPlan((p) => p.interval === target.interval);
        onDone(`You are now on ${planName('pro', target.interval)}. ${formatMoney(paid, q.currency)} was charged to your card.`);
      } else {
        await api.put('/api/subscriptions/update', { body: { tier: 'pro', interval: target.interval } });
        onDone(`You will switch to ${planName('pro', target.interval)} on ${formatDate(q.effectiveAt)}.`);
      }
    } catch (e) {
      setError(e);
      // A quote that ran out: show the current one.
      if (e instanceof ApiError && e.code === 'quote_expired') requote();
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card" role="region" aria-labelledby="change-title" data-testid="change-confirm">
      <h2 id="change-title">
        {target.tier === 'free' ? 'Cancel your subscription' : `Switch to ${planName('pro', target.interval)}`}
      </h2>
      <AsyncView value={quote} what="the price of this change" retry={requote}>
        {(q) => (
          <>
            {q.change === 'upgrade' ? (
              <>
                <p className="lead">
                  Due today:{' '}
                  <strong data-testid="proration-amount" data-amount={q.amountDue}>
                    {formatMoney(q.amountDue, q.currency)}
                  </strong>
                </p>
                <p>Your new plan starts now. The unused part of your current period is credited.</p>
                <table className="table" aria-label="What you pay today">
                  <tbody>
                    {q.lines.map((l, i) => (
                      <tr key={i}>
                        <td>{l.description}</td>
                        <td className="num">{formatMoney(l.amount, l.currency)}</td>
                      </tr>
                    ))}
                  </tbody>
                  {q.total !== q.amountDue && (
                    <tfoot>
                      <tr>
                        <td>Credit balance applied</td>
                        <td className="num">{formatMoney(q.amountDue - q.total, q.currency)}</td>
                      </tr>
                    </tfoot>
                  )}
                </table>
              </>
            ) : (
              <p className="lead" data-testid="effective-at">
                Nothing is charged today.{' '}
                {target.tier === 'free'
                  ? `You keep ${tierLabel(c.tier)} until ${formatDate(q.effectiveAt)}, then move to Free.`
                  : `Your plan switches on ${formatDate(q.effectiveAt)}.`}
              </p>
            )}
            <ErrorMessage error={error} />
            <div className="actions">
              <button type="button" onClick={() => confirm(q)} disabled={busy}>
                {busy
                  ? 'Working…'
                  : q.change === 'upgrade'
                    ? `Confirm and pay ${formatMoney(q.amountDue, q.currency)}`
                    : target.tier === 'free'
                      ? 'Cancel at period end'
                      : 'Switch at period end'}
              </button>
              <button type="button" className="secondary" onClick={onCancel} disabled={busy}>
                Keep my plan
              </button>
            </div>
          </>
        )}
      </AsyncView>
    </div>
  );
}

function Invoices() {
  const [pages, setPages] = useState<{ invoices: Invoice[]; next: string | null } | null>(null);
  const [first, reload] = useAsync((signal) => api.get('/api/subscriptions/invoices', { signal }), []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const more = async (cursor: string, shown: Invoice[]) => {
    setBusy(true);
    try {
      const page = await api.get('/api/subscriptions/invoices', { query: { startingAfter: cursor } });
      setPages({ invoices: [...shown, ...page.invoices], next: page.nextCursor });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h2>Invoices</h2>
      <AsyncView value={first} what="invoices" retry={reload}>
        {(page) => {
          const invoices = pages?.invoices ?? page.invoices;
          const next = pages ? pages.next : page.nextCursor;
          if (invoices.length === 0) return <Empty>No invoices yet.</Empty>;
          return (
            <>
              <table className="table" aria-label="Invoices" data-testid="invoices">
                <thead>
                  <tr>
                    <th scope="col">Invoice</th>
                    <th scope="col">Date</th>
                    <th scope="col" className="num">
                      Amount
                    </th>
                    <th scope="col">Status</th>
                    <th scope="col">
                      <span className="sr-only">Link</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {invoices.map((i) => (
                    <tr key={i.id} data-status={i.status}>
                      <td>{i.number ?? i.id}</td>
                      <td>{formatDate(i.date)}</td>
                      <td className="num" data-amount={i.amount}>
                        {formatMoney(i.amount, i.currency)}
                      </td>
                      <td>
                        <span className={`badge status-${i.status}`}>{i.status}</span>
                      </td>
                      <td>
                        {i.hostedInvoiceUrl && (
                          <a href={i.hostedInvoiceUrl} target="_blank" rel="noopener noreferrer">
                            View invoice {i.number ?? ''}
                          </a>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <ErrorMessage error={error} />
              <MoreButton cursor={next} busy={busy} onMore={() => {
                  if (next) void more(next, invoices);
                }} />
            </>
          );
        }}
      </AsyncView>
    </>
  );
}

type SavedCard = Ok<'/api/payment-methods', 'get'>['paymentMethods'][number];

function brandLabel(brand: string): string {
  const names: Record<string, string> = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express' };
  return names[brand] ?? brand.charAt(0).toUpperCase() + brand.slice(1);
}

/** The saved cards (`/api/payment-methods`): add one, choose the default, remove one. */
function PaymentMethod() {
  const [wallet, reload] = useAsync((signal) => api.get('/api/payment-methods', { signal }), []);
  const [adding, setAdding] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const act = async (id: string, work: () => Promise<unknown>, message: string) => {
    setBusy(id);
    setError(null);
    setDone(null);
    try {
      await work();
      setDone(message);
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  const makeDefault = (card: SavedCard) =>
    act(
      card.id,
      () => api.post('/api/payment-methods/{paymentMethodId}/default', { params: { paymentMethodId: card.id }, idempotencyKey: newIdempotencyKey('default-card') }),
      `${brandLabel(card.brand)} •••• ${card.last4} is now your default card.`,
    );
  const remove = (card: SavedCard) =>
    act(card.id, () => api.delete('/api/payment-methods/{paymentMethodId}', { params: { paymentMethodId: card.id } }), `${brandLabel(card.brand)} •••• ${card.last4} was removed.`);

  return (
    <section className="card" id="payment-method" aria-labelledby="payment-method-title">
      <h2 id="payment-method-title">Payment method</h2>
      <p className="muted">Renewals are charged to your default card.</p>
      {done && <Notice>{done}</Notice>}
      <ErrorMessage error={error} />
      <AsyncView value={wallet} what="your cards" retry={reload}>
        {(w) =>
          w.paymentMethods.length === 0 ? (
            <Empty>No saved cards yet.</Empty>
          ) : (
            <ul className="cards-list" data-testid="saved-cards">
              {w.paymentMethods.map((c) => (
                <li key={c.id} data-testid="saved-card" data-last4={c.last4} data-default={c.default ? 'true' : 'false'}>
                  <span>
                    {brandLabel(c.brand)} •••• {c.last4}{' '}
                    <span className="muted">
                      expires {String(c.expMonth).padStart(2, '0')}/{c.expYear}
                    </span>{' '}
                    {c.default && <span className="badge">Default</span>}
                  </span>{' '}
                  {!c.default && (
                    <button type="button" className="secondary" disabled={busy !== null} onClick={() => void makeDefault(c)}>
                      Make default<span className="sr-only"> ({brandLabel(c.brand)} •••• {c.last4})</span>
                    </button>
                  )}{' '}
                  <button type="button" className="secondary" disabled={busy !== null} onClick={() => void remove(c)}>
                    Remove<span className="sr-only"> ({brandLabel(c.brand)} •••• {c.last4})</span>
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </AsyncView>
      {adding ? (
        <AddCard
          onCancel={() => setAdding(false)}
          onDone={(message) => {
            setAdding(false);
            setDone(message);
            reload();
          }}
        />
      ) : (
        <button type="button" className="primary" onClick={() => {
            setDone(null);
            setAdding(true);
          }}>
          Add a card
        </button>
      )}
    </section>
  );
}

type AddPhase =
  | { kind: 'idle' }
  | { kind: 'saving' }
  | { kind: 'challenge'; url: string }
  | { kind: 'failed'; error: unknown };

/** Saves a card with a SetupIntent; a 3-D Secure card opens the bank's challenge. */
function AddCard({ onDone, onCancel }: { onDone: (message: string) => void; onCancel: () => void }) {
  const form = useRef<CardForm | null>(null);
  const onForm = useCallback((f: CardForm | null) => {
    form.current = f;
  }, []);
  const [phase, setPhase] = useState<AddPhase>({ kind: 'idle' });
  const save = async () => {
    setPhase({ kind: 'saving' });
    try {
      const card = form.current;
      if (!card) throw new ApiError(0, 'payment_unavailable', 'Cards cannot be added here.');
      const setup = await api.post('/api/payment-methods/setup', {
        idempotencyKey: newIdempotencyKey('add-card'),
        body: { paymentMethodId: await card.paymentMethodId() },
      });
      if (setup.status === 'succeeded') {
        onDone('Your card was saved.');
        return;
      }
      const challenge = setup.status === 'requires_action' && setup.clientSecret ? card.challenge(setup.clientSecret) : null;
      if (!challenge) throw new ApiError(0, 'payment_rejected', 'This card needs a step we cannot show.');
      if (challenge.kind === 'dialog') setPhase({ kind: 'challenge', url: challenge.url });
      else onChallenge(await challenge.run());
    } catch (e) {
      setPhase({ kind: 'failed', error: e instanceof CardError ? new ApiError(0, e.code, e.message) : e });
    }
  };
  const onChallenge = (outcome: ChallengeOutcome) => {
    if (outcome === 'completed') onDone('Your card was saved.');
    else setPhase({ kind: 'failed', error: new ApiError(0, 'authentication_failed', 'The bank did not confirm this card. It was not saved.') });
  };
  const busy = phase.kind === 'saving' || phase.kind === 'challenge';
  return (
    <div className="card" data-testid="add-card">
      <h3>Add a card</h3>
      <CardChoice name="new-card" purpose={{ mode: 'setup', currency: 'USD' }} onForm={onForm} />
      {phase.kind === 'failed' && <ErrorMessage error={phase.error} />}
      <div className="actions">
        <button type="button" className="primary" onClick={save} disabled={busy}>
          {phase.kind === 'saving' ? 'Saving…' : 'Save card'}
        </button>
        <button type="button" className="secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
      {phase.kind === 'challenge' && <ThreeDSecureDialog url={phase.url} onDone={onChallenge} />}
    </div>
  );
}
