import { useCallback, useRef, useState } from 'react';
import { api, ApiError, newIdempotencyKey } from '../api/client';
import { humanMessage } from '../api/errors';
import { cart, useCart } from '../cart';
import { Empty, ErrorMessage, useAsync } from '../components/ui';
import { formatMoney } from '../format';
import type { CardForm } from '../payments/adapter';
import { CardChoice } from '../payments/CardChoice';
import { CardError } from '../payments/stripe';
import { ThreeDSecureDialog, type ChallengeOutcome } from '../payments/ThreeDSecure';
import { Link, navigate } from '../router';

type Phase =
  | { kind: 'idle' }
  | { kind: 'paying' }
  | { kind: 'challenge'; paymentId: string; url: string }
  | { kind: 'declined'; error: ApiError }
  | { kind: 'failed'; error: unknown };

export function Checkout() {
  const items = useCart();
  const [balance] = useAsync((signal) => api.get('/api/tokens/balance', { signal }), []);
  const form = useRef<CardForm | null>(null);
  const onForm = useCallback((f: CardForm | null) => {
    form.current = f;
  }, []);
  const [voucherId, setVoucherId] = useState('');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });

  if (items.length === 0) {
    return (
      <section>
        <h1>Checkout</h1>
        <Empty>
          Your cart is empty. <Link to="/courses">Browse the catalog</Link>
        </Empty>
      </section>
    );
  }
  const currencies = [...new Set(items.map((i) => i.currency))];
  const total = items.reduce((sum, i) => sum + i.amount, 0);
  const vouchers = balance.state === 'ready' ? (balance.data.vouchers ?? []).filter((v) => v.status === 'available') : [];

  const pay = async () => {
    setPhase({ kind: 'paying' });
    try {
      const card = form.current;
      if (!card) throw new ApiError(0, 'payment_unavailable', 'Card payments are not available here.');
      const paymentMethodId = await card.paymentMethodId();
      // One key per attempt: a retry after a network error would reuse it; a new attempt (after a
      // decline) is a new order.
      const result = await api.post('/api/payments/process', {
        idempotencyKey: newIdempotencyKey('checkout'),
        body: {
          items: items.map((i) => ({ type: 'course' as const, courseId: i.courseId })),
          paymentMethodId,
          voucherId: voucherId || undefined,
        },
      });
      if (result.status === 'requires_action') {
        const challenge = result.clientSecret ? card.challenge(result.clientSecret) : null;
        if (!challenge) throw new ApiError(0, 'payment_rejected', 'This payment needs an authentication step we cannot show.');
        if (challenge.kind === 'dialog') setPhase({ kind: 'challenge', paymentId: result.paymentId, url: challenge.url });
        else onChallenge(result.paymentId)(await challenge.run());
        return;
      }
      finish(result.paymentId);
    } catch (e) {
      const error = e instanceof CardError ? new ApiError(0, e.code, e.message) : e;
      if (error instanceof ApiError && error.code === 'card_declined') setPhase({ kind: 'declined', error });
      else setPhase({ kind: 'failed', error });
    }
  };

  const finish = (paymentId: string) => {
    cart.clear();
    navigate(`/payments/${encodeURIComponent(paymentId)}?checkout=1`);
  };

  const onChallenge = (paymentId: string) => (outcome: ChallengeOutcome) => {
    if (outcome === 'completed') finish(paymentId);
    else
      setPhase({
        kind: 'failed',
        error: new ApiError(0, 'authentication_failed', 'The bank did not confirm this payment. Nothing was charged.'),
      });
  };

  return (
    <section>
      <h1>Checkout</h1>
      <table className="table" aria-label="Order">
        <thead>
          <tr>
            <th>Course</th>
            <th className="num">Price</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.courseId}>
              <td>
                <Link to={`/courses/${encodeURIComponent(i.courseId)}`}>{i.title}</Link>
              </td>
              <td className="num">{formatMoney(i.amount, i.currency)}</td>
              <td>
                <button type="button" className="link" onClick={() => cart.remove(i.courseId)} disabled={phase.kind === 'paying'}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th>Total</th>
            <th className="num" data-testid="total">
              {currencies.length === 1 ? formatMoney(total, currencies[0]!) : 'Mixed currencies'}
            </th>
            <th />
          </tr>
        </tfoot>
      </table>
      {currencies.length > 1 && <p className="error">{humanMessage(new ApiError(422, 'mixed_currencies', ''))}</p>}

      {vouchers.length > 0 && (
        <fieldset>
          <legend>Token voucher</legend>
          <select aria-label="Voucher" value={voucherId} onChange={(e) => setVoucherId(e.target.value)}>
            <option value="">No voucher</option>
            {vouchers.map((v) => (
              <option key={v.voucherId} value={v.voucherId}>
                {v.discount ? formatMoney(v.discount.amount, v.discount.currency) : ''} off ({v.voucherId})
              </option>
            ))}
          </select>
        </fieldset>
      )}

      <CardChoice
        name="card"
        purpose={{ mode: 'payment', amount: total, currency: currencies[0] ?? 'USD' }}
        onForm={onForm}
      />

      {phase.kind === 'declined' && (
        <div className="error" role="alert" data-code="card_declined">
          <strong>{humanMessage(phase.error)}</strong>
          {typeof phase.error.details.paymentId === 'string' && (
            <p className="muted">
              Payment {phase.error.details.paymentId}: failed, no charge.
            </p>
          )}
        </div>
      )}
      {phase.kind === 'failed' && <ErrorMessage error={phase.error} />}
      <button
        type="button"
        className="primary"
        onClick={pay}
        disabled={phase.kind === 'paying' || phase.kind === 'challenge' || currencies.length > 1}
      >
        {phase.kind === 'paying' ? 'Paying…' : `Pay ${currencies.length === 1 ? formatMoney(total, currencies[0]!) : ''}`}
      </button>
      {phase.kind === 'challenge' && <ThreeDSecureDialog url={phase.url} onDone={onChallenge(phase.paymentId)} />}
    </section>
  );
}
