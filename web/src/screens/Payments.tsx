import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, callBlob, callText, newIdempotencyKey, type components } from '../api/client';
import { Pager, useCursorPages } from '../components/paging';
import { AsyncView, Empty, ErrorMessage, Field, Notice, useAsync } from '../components/ui';
import { formatDate, formatMoney, fromMinorUnits, toMinorUnits } from '../format';
import { Link } from '../router';
import { hasRole, useSession } from '../session';

type Payment = components['schemas']['Payment'];

const STATUS_LABELS: Record<string, string> = {
  requires_payment_method: 'Awaiting payment',
  requires_action: 'Awaiting authentication',
  processing: 'Processing',
  succeeded: 'Paid',
  failed: 'Failed — not charged',
  canceled: 'Canceled — not charged',
  partially_refunded: 'Partially refunded',
  refunded: 'Refunded',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {STATUS_LABELS[status] ?? status}
    </span>
  );
}

/** A page of payments: the caller's own, or (admins) any user's. */
export function PaymentTable({ userId }: { userId?: string }) {
  const pages = useCursorPages(userId ?? '');
  const [payments, reload] = useAsync(
    (signal) => api.get('/api/payments/history', { signal, query: { userId, limit: 20, cursor: pages.cursor } }),
    [userId, pages.cursor],
  );
  return (
    <AsyncView value={payments} what="payments" retry={reload}>
      {(page) =>
        page.items.length === 0 ? (
          <Empty>No payments yet.</Empty>
        ) : (
          <>
            <table className="table" aria-label="Payments">
              <thead>
                <tr>
                  <th>Date</th>
                  <th>Courses</th>
                  <th className="num">Amount</th>
                  <th>Status</th>
                  <th>Receipt</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((p) => (
                  <tr key={p.paymentId} data-payment={p.paymentId}>
                    <td>
                      <Link to={`/payments/${encodeURIComponent(p.paymentId)}`}>{formatDate(p.createdAt)}</Link>
                    </td>
                    <td>{p.items.map((i) => i.title ?? i.courseId).join(', ')}</td>
                    <td className="num">{formatMoney(p.amount, p.currency)}</td>
                    <td>
                      <StatusBadge status={p.status} />
                    </td>
                    <td>{p.receiptNumber ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager pages={pages} nextCursor={page.nextCursor} />
          </>
        )
      }
    </AsyncView>
  );
}

export function PaymentHistory() {
  return (
    <section>
      <h1>Payments</h1>
      <PaymentTable />
    </section>
  );
}

/** Until Stripe's webhook is processed, a paid order is not yet fulfilled: watch it settle. */
function settled(p: Payment): boolean {
  return p.fulfilled || ['failed', 'canceled', 'refunded', 'requires_payment_method'].includes(p.status);
}

export function PaymentDetail({ paymentId }: { paymentId: string }) {
  const session = useSession();
  const [payment, reload] = useAsync((signal) => api.get('/api/payments/{paymentId}', { signal, params: { paymentId } }), [paymentId]);
  const waiting = payment.state === 'ready' && !settled(payment.data);
  useEffect(() => {
    if (!waiting) return;
    const timer = setTimeout(reload, 700);
    return () => clearTimeout(timer);
  }, [waiting, payment, reload]);

  return (
    <section>
      <p>
        <Link to={hasRole(session, 'admin') ? '/admin/payments' : '/payments'}>← Payments</Link>
      </p>
      <h1>Payment</h1>
      <AsyncView value={payment} what="the payment" retry={reload}>
        {(p) => (
          <>
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={p.status} /> {waiting && <span className="muted">Confirming with the bank…</span>}
              </dd>
              <dt>Amount</dt>
              <dd data-testid="amount">{formatMoney(p.amount, p.currency)}</dd>
              {p.refundedAmount > 0 && (
                <>
                  <dt>Refunded</dt>
                  <dd data-testid="refunded">{formatMoney(p.refundedAmount, p.currency)}</dd>
                </>
              )}
              <dt>Date</dt>
              <dd>{formatDate(p.paidAt ?? p.createdAt)}</dd>
              <dt>Buyer</dt>
              <dd>{p.userId}</dd>
              <dt>Receipt</dt>
              <dd>{p.receiptNumber ?? '—'}</dd>
              <dt>Id</dt>
              <dd>
                <code>{p.paymentId}</code>
              </dd>
            </dl>
            <h2>Courses</h2>
            <ul>
              {p.items.map((i) => (
                <li key={i.courseId}>
                  <Link to={`/courses/${encodeURIComponent(i.courseId ?? '')}`}>{i.title ?? i.courseId}</Link>{' '}
                  {i.amount !== undefined && <span className="muted">{formatMoney(i.amount, p.currency)}</span>}{' '}
                  {p.fulfilled && p.status !== 'refunded' && p.userId === session?.sub && <span className="badge ok">Unlocked</span>}
                </li>
              ))}
            </ul>
            {!!p.refunds?.length && (
              <>
                <h2>Refunds</h2>
                <ul>
                  {p.refunds.map((r) => (
                    <li key={r.refundId}>
                      {formatMoney(r.amount ?? 0, p.currency)} · {r.status} · {r.reason ?? ''} · {formatDate(r.createdAt)}
                    </li>
                  ))}
                </ul>
              </>
            )}
            <RefundForm payment={p} admin={hasRole(session, 'admin')} onRefunded={reload} />
            {p.fulfilled && <Receipt paymentId={p.paymentId} version={`${p.status}-${p.refundedAmount}`} />}
          </>
        )}
      </AsyncView>
    </section>
  );
}

function Receipt({ paymentId, version }: { paymentId: string; version: string }) {
  const [html, reload] = useAsync((signal) => callText('/api/payments/{paymentId}/receipt', { signal, params: { paymentId } }), [
    paymentId,
    version,
  ]);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  // The PDF needs the bearer token, so it is fetched and handed to the browser as a file.
  const downloadPdf = async () => {
    setDownloadError(null);
    try {
      const pdf = await callBlob('/api/payments/{paymentId}/receipt', 'application/pdf', {
        params: { paymentId },
        query: { format: 'pdf' },
      });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(pdf);
      link.download = `receipt-${paymentId}.pdf`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (e) {
      setDownloadError(e instanceof Error ? e.message : 'The PDF could not be downloaded.');
    }
  };
  return (
    <>
      <h2>Receipt</h2>
      <p>
        <button type="button" className="secondary" onClick={() => void downloadPdf()}>
          Download PDF
        </button>
        {downloadError && <span role="alert"> {downloadError}</span>}
      </p>
      <AsyncView value={html} what="the receipt" retry={reload}>
        {/* The receipt is the API's own HTML: shown in a sandboxed frame, with no scripts. */}
        {(h) => <iframe className="receipt" title="Receipt" sandbox="" srcDoc={h} />}
      </AsyncView>
    </>
  );
}

const REASONS = ['requested_by_customer', 'duplicate', 'fraudulent', 'course_not_as_described', 'other'] as const;
type Reason = (typeof REASONS)[number];

function RefundForm({ payment, admin, onRefunded }: { payment: Payment; admin: boolean; onRefunded: () => void }) {
  const remaining = payment.amount - payment.refundedAmount;
  const [amount, setAmount] = useState(fromMinorUnits(remaining, payment.currency));
  const [reason, setReason] = useState<Reason>(admin ? 'other' : 'requested_by_customer');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // A key per refund the user means: kept across retries of this one, new after it succeeded.
  const [key, setKey] = useState(() => newIdempotencyKey('refund'));
  const refundable = payment.fulfilled && ['succeeded', 'partially_refunded'].includes(payment.status) && remaining > 0;
  if (!refundable) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const minor = admin ? toMinorUnits(amount, payment.currency) : remaining;
    if (!Number.isFinite(minor) || minor <= 0) {
      setError(new ApiError(0, 'invalid_amount', 'Enter an amount above zero.'));
      return;
    }
    setBusy(true);
    try {
      const r = await api.post('/api/payments/refund', {
        idempotencyKey: key,
        body: { paymentId: payment.paymentId, reason, amount: admin && minor !== remaining ? minor : undefined },
      });
      setDone(`Refunded ${formatMoney(r.amount, r.currency)}.`);
      setKey(newIdempotencyKey('refund'));
      onRefunded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={submit} aria-label="Refund">
      <h2>{admin ? 'Refund (admin)' : 'Request a refund'}</h2>
      {admin ? (
        <Field label={`Amount (${payment.currency})`} hint={`Up to ${formatMoney(remaining, payment.currency)}`}>
          <input name="amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </Field>
      ) : (
        <p>
          You can get back {formatMoney(remaining, payment.currency)} within the refund window. You lose access to the
          courses.
        </p>
      )}
      <Field label="Reason">
        <select name="reason" value={reason} onChange={(e) => setReason(e.target.value as Reason)}>
          {REASONS.map((r) => (
            <option key={r} value={r}>
              {r.replace(/_/g, ' ')}
            </option>
          ))}
        </select>
      </Field>
      <ErrorMessage error={error} />
      {done && <Notice>{done}</Notice>}
      <button type="submit" disabled={busy}>
        {busy ? 'Refunding…' : 'Refund'}
      </button>
    </form>
  );
}
