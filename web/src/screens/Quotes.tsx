// Enterprise quotes: price N seats for a term (1, 6, 12 or 24 months). The API prices it from the
// plans' one seat price and holds it for 30 days. Accepting sends a Stripe invoice (paid on
// Stripe's hosted page, due in 30 days); the license is issued when it is paid. Seat additions
// and renewals invoiced for a license are listed here too. An organisation's enterprise admin asks
// for the organisation; anyone else signed in asks for themselves (the API decides which).
import { useState, type FormEvent } from 'react';
import { api, ApiError, newIdempotencyKey, type components } from '../api/client';
import { Pager, useCursorPages } from '../components/paging';
import { AsyncView, Empty, ErrorMessage, Field, useAsync } from '../components/ui';
import { formatDate, formatMoney } from '../format';
import { Link, navigate } from '../router';
import { useSession } from '../session';

type Quote = components['schemas']['EnterpriseQuote'];
const TERMS = [1, 6, 12, 24] as const;

function quoteLink(id: string) {
  return `/enterprise/quotes/${encodeURIComponent(id)}`;
}

function termLabel(months: number) {
  return months === 1 ? '1 month' : months % 12 === 0 ? `${months / 12} year${months === 12 ? '' : 's'} (${months} months)` : `${months} months`;
}

export function Quotes() {
  const session = useSession();
  const pages = useCursorPages('');
  const [quotes, reload] = useAsync(
    (signal) => api.get('/api/enterprise/quotes', { signal, query: { cursor: pages.cursor } }),
    [pages.cursor],
  );
  const [seats, setSeats] = useState('25');
  const [term, setTerm] = useState<(typeof TERMS)[number]>(12);
  const [orgName, setOrgName] = useState(session?.org ?? '');
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const issues = error instanceof ApiError ? error.issues : [];
  const errorFor = (field: string) =>
    issues
      .filter((i) => i.field === field || i.field === `/${field}`)
      .map((i) => (i.message ?? 'Not valid').replace(new RegExp(`^/?${field}: `), ''))
      .join(' ') || undefined;
  const seatCount = Number(seats);
  const seatsValid = Number.isInteger(seatCount) && seatCount >= 1 && seatCount <= 100_000;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const quote = await api.post('/api/enterprise/quotes', {
        idempotencyKey: newIdempotencyKey('quote'),
        body: { seats: seatCount, termMonths: term, orgName: orgName.trim(), contactEmail: email.trim() },
      });
      navigate(quoteLink(quote.quoteId));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>Enterprise quotes</h1>
      <p>
        Price seats of Azora Enterprise for your organisation. A quote holds its price for 30 days.{' '}
        <Link to="/pricing">Compare plans</Link>
      </p>
      <form className="card" onSubmit={submit} aria-label="Request a quote" noValidate>
        <Field label="Seats" error={errorFor('seats') ?? (seats && !seatsValid ? 'Enter a whole number from 1 to 100,000.' : undefined)}>
          <input name="seats" type="number" min={1} max={100000} step={1} value={seats} onChange={(e) => setSeats(e.target.value)} />
        </Field>
        <Field label="Term" error={errorFor('termMonths')}>
          <select name="termMonths" value={term} onChange={(e) => setTerm(Number(e.target.value) as (typeof TERMS)[number])}>
            {TERMS.map((t) => (
              <option key={t} value={t}>
                {termLabel(t)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Organisation name" error={errorFor('orgName')}>
          <input name="orgName" value={orgName} onChange={(e) => setOrgName(e.target.value)} maxLength={200} />
        </Field>
        <Field label="Contact email" error={errorFor('contactEmail')}>
          <input name="contactEmail" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" />
        </Field>
        <button type="submit" disabled={busy || !seatsValid || !orgName.trim() || !email.trim()}>
          {busy ? 'Pricing…' : 'Get a quote'}
        </button>
        {issues.length === 0 && <ErrorMessage error={error} />}
      </form>
      <h2>Your quotes</h2>
      <AsyncView value={quotes} what="your quotes" retry={reload}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No quotes yet.</Empty>
          ) : (
            <>
              <table aria-label="Quotes">
                <thead>
                  <tr>
                    <th scope="col">Quote</th>
                    <th scope="col">Organisation</th>
                    <th scope="col" className="num">
                      Seats
                    </th>
                    <th scope="col">Term</th>
                    <th scope="col" className="num">
                      Total
                    </th>
                    <th scope="col">Valid until</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((q) => (
                    <tr key={q.quoteId} data-quote={q.quoteId}>
                      <td>
                        <Link to={quoteLink(q.quoteId)}>{q.quoteId}</Link>
                      </td>
                      <td>{q.orgName}</td>
                      <td className="num">{q.seats.toLocaleString()}</td>
                      <td>{termLabel(q.termMonths)}</td>
                      <td className="num">{formatMoney(q.total.amount, q.total.currency)}</td>
                      <td>{formatDate(q.validUntil)}</td>
                      <td>
                        <span className={`badge quote-${q.status}`}>{q.status}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager pages={pages} nextCursor={page.nextCursor} />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}

export function QuotePage({ quoteId }: { quoteId: string }) {
  const [quote, reload] = useAsync((signal) => api.get('/api/enterprise/quotes/{quoteId}', { signal, params: { quoteId } }), [quoteId]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const accept = async () => {
    setError(null);
    setBusy(true);
    try {
      await api.post('/api/enterprise/quotes/{quoteId}/accept', { params: { quoteId } });
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <p>
        <Link to="/enterprise/quotes">← Quotes</Link>
      </p>
      <AsyncView value={quote} what="the quote" retry={reload}>
        {(q) => (
          <>
            <QuoteDetails quote={q} />
            {q.status === 'open' && (
              <p>
                <button type="button" onClick={accept} disabled={busy}>
                  {busy ? 'Sending the invoice…' : 'Accept and get the invoice'}
                </button>
              </p>
            )}
            <ErrorMessage error={error} />
          </>
        )}
      </AsyncView>
    </section>
  );
}

function QuoteDetails({ quote: q }: { quote: Quote }) {
  const money = (m: Quote['total']) => formatMoney(m.amount, m.currency);
  return (
    <>
      <h1>
        Quote {q.quoteId} <span className={`badge quote-${q.status}`}>{q.status}</span>
      </h1>
      <p className="quote-total" data-testid="quote-total" data-amount={q.total.amount} data-currency={q.total.currency}>
        {money(q.total)}
      </p>
      <p data-testid="quote-breakdown">
        {q.seats.toLocaleString()} {q.seats === 1 ? 'seat' : 'seats'} × {money(q.unitPricePerMonth)} per seat and month ×{' '}
        {q.termMonths} {q.termMonths === 1 ? 'month' : 'months'} ({money(q.unitPricePerTerm)} per seat for the term)
      </p>
      <dl className="facts">
        <dt>Organisation</dt>
        <dd>
          {q.orgName}
          {q.orgId ? ` (${q.orgId})` : ''}
        </dd>
        <dt>Contact</dt>
        <dd>{q.contactEmail}</dd>
        <dt>Term</dt>
        <dd>{termLabel(q.termMonths)}</dd>
        <dt>Quoted</dt>
        <dd>{formatDate(q.createdAt)}</dd>
        <dt>Price holds until</dt>
        <dd>{formatDate(q.validUntil)}</dd>
      </dl>
      {q.kind !== 'new_license' && q.targetLicenseId && (
        <p data-testid="quote-kind">
          {q.kind === 'add_seats' ? 'More seats' : 'Renewal'} for license{' '}
          <Link to={`/enterprise/licenses/${encodeURIComponent(q.targetLicenseId)}`}>{q.targetLicenseId}</Link>
        </p>
      )}
      <QuoteNext quote={q} />
    </>
  );
}

/** What happens next, by status: accept, pay the invoice, use the license, or ask again. */
function QuoteNext({ quote: q }: { quote: Quote }) {
  switch (q.status) {
    case 'open':
      return (
        <p className="muted">
          Accepting sends an invoice for {formatMoney(q.total.amount, q.total.currency)} to {q.contactEmail}, payable within 30
          days by card or bank transfer. The license is issued as soon as it is paid.
        </p>
      );
    case 'invoiced':
      return (
        <div className="card" data-testid="quote-invoice">
          <p>
            Invoice {q.invoice?.invoiceId} was sent to {q.contactEmail}; it is due on {q.invoice ? formatDate(q.invoice.dueAt) : '—'}.
          </p>
          {q.invoice?.hostedInvoiceUrl && (
            <p>
              <a href={q.invoice.hostedInvoiceUrl} target="_blank" rel="noreferrer">
                Pay the invoice
              </a>
            </p>
          )}
        </div>
      );
    case 'paid':
      return (
        <p data-testid="quote-license">
          Paid. {q.kind === 'new_license' ? 'Your license: ' : 'Applied to license '}
          {q.licenseId && <Link to={`/enterprise/licenses/${encodeURIComponent(q.licenseId)}`}>{q.licenseId}</Link>}
        </p>
      );
    case 'void':
      return <p className="muted">The invoice was not paid by its due date and was voided: request a new quote.</p>;
    default:
      return <p className="muted">This quote has expired: request a new one for the current price.</p>;
  }
}
