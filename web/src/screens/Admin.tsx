import { useState, type FormEvent } from 'react';
import { api, ApiError, newIdempotencyKey, type components } from '../api/client';
import { Pager, useCursorPages } from '../components/paging';
import { AsyncView, Empty, ErrorMessage, Field, Notice, useAsync } from '../components/ui';
import { formatDate } from '../format';
import { Link, navigate } from '../router';
import { PaymentTable } from './Payments';
import { rememberLicense } from './Enterprise';

type Feature = components['schemas']['Feature'];

export function AdminNav() {
  return (
    <nav className="subnav" aria-label="Admin">
      <Link to="/admin">Audit log</Link>
      <Link to="/admin/payments">Payments and refunds</Link>
      <Link to="/admin/licenses">Issue a license</Link>
      <Link to="/admin/tokens">Award tokens</Link>
      <Link to="/admin/support">Support queue</Link>
    </nav>
  );
}

function currentMonth(): string {
  return new Date().toISOString().slice(0, 7);
}

export function AdminAudit({ query }: { query: URLSearchParams }) {
  const month = query.get('month') ?? currentMonth();
  const pages = useCursorPages(month);
  const [audit, reload] = useAsync(
    (signal) => api.get('/api/admin/audit', { signal, query: { month, limit: 50, cursor: pages.cursor } }),
    [month, pages.cursor],
  );
  return (
    <section>
      <h1>Audit log</h1>
      <AdminNav />
      <form className="inline" aria-label="Month" onSubmit={(e) => e.preventDefault()}>
        <Field label="Month">
          <input type="month" name="month" value={month} onChange={(e) => e.target.value && navigate(`/admin?month=${e.target.value}`, true)} />
        </Field>
        <button type="button" className="secondary" onClick={reload}>
          Refresh
        </button>
      </form>
      <AsyncView value={audit} what="the audit log" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>Nothing was audited in {month}.</Empty>
          ) : (
            <>
              <table className="table" aria-label="Audit entries">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Who</th>
                    <th>Action</th>
                    <th>Target</th>
                    <th>Details</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((e) => (
                    <tr key={e.id} data-action={e.action}>
                      <td>{formatDate(e.at)}</td>
                      <td>{e.actor}</td>
                      <td>
                        <code>{e.action}</code>
                      </td>
                      <td>{e.target}</td>
                      <td>
                        <code className="details">{JSON.stringify(e.details)}</code>
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

export function AdminPayments({ query }: { query: URLSearchParams }) {
  const userId = query.get('userId') ?? '';
  const [form, setForm] = useState(userId);
  const [paymentId, setPaymentId] = useState('');
  return (
    <section>
      <h1>Payments and refunds</h1>
      <AdminNav />
      <div className="columns">
        <form
          className="card inline"
          aria-label="Find a user's payments"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(`/admin/payments?userId=${encodeURIComponent(form.trim())}`);
          }}
        >
          <Field label="Buyer's user id">
            <input name="userId" value={form} onChange={(e) => setForm(e.target.value)} />
          </Field>
          <button type="submit">Find payments</button>
        </form>
        <form
          className="card inline"
          aria-label="Open a payment"
          onSubmit={(e) => {
            e.preventDefault();
            if (paymentId.trim()) navigate(`/payments/${encodeURIComponent(paymentId.trim())}`);
          }}
        >
          <Field label="Payment id">
            <input name="paymentId" value={paymentId} onChange={(e) => setPaymentId(e.target.value)} />
          </Field>
          <button type="submit">Open</button>
        </form>
      </div>
      {userId ? <PaymentTable userId={userId} /> : <Empty>Enter a buyer's user id to see their payments and refund one.</Empty>}
    </section>
  );
}

const FEATURES: Feature[] = ['certificates', 'offline_downloads', 'ai_tutor', 'pro_courses', 'team_management', 'white_label', 'priority_support'];

export function AdminLicenses() {
  const [orgId, setOrgId] = useState('');
  const [orgName, setOrgName] = useState('');
  const [contactEmail, setContactEmail] = useState('');
  const [seats, setSeats] = useState('10');
  const [termMonths, setTermMonths] = useState('12');
  const [selfActivation, setSelfActivation] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [key] = useState(() => newIdempotencyKey('license'));
  const fieldError = (f: string) => (error instanceof ApiError && error.field === f ? error.message : undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const license = await api.post('/api/enterprise/licenses/create', {
        idempotencyKey: key,
        body: {
          orgId: orgId.trim() || undefined,
          orgName,
          contactEmail,
          seats: Number(seats),
          termMonths: Number(termMonths),
          features: FEATURES,
          allowSelfActivation: selfActivation,
        },
      });
      rememberLicense(license.licenseId);
      navigate(`/enterprise/licenses/${encodeURIComponent(license.licenseId)}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Issue a license</h1>
      <AdminNav />
      <form className="card" onSubmit={submit} noValidate aria-label="New license">
        <Field label="Organisation id" hint="The org claim of its users; empty mints one" error={fieldError('orgId')}>
          <input name="orgId" value={orgId} onChange={(e) => setOrgId(e.target.value)} />
        </Field>
        <Field label="Organisation name" error={fieldError('orgName')}>
          <input name="orgName" value={orgName} onChange={(e) => setOrgName(e.target.value)} />
        </Field>
        <Field label="Contact email" error={fieldError('contactEmail')}>
          <input name="contactEmail" type="email" value={contactEmail} onChange={(e) => setContactEmail(e.target.value)} />
        </Field>
        <div className="row">
          <Field label="Seats" error={fieldError('seats')}>
            <input name="seats" inputMode="numeric" value={seats} onChange={(e) => setSeats(e.target.value)} />
          </Field>
          <Field label="Term (months)" error={fieldError('termMonths')}>
            <input name="termMonths" inputMode="numeric" value={termMonths} onChange={(e) => setTermMonths(e.target.value)} />
          </Field>
        </div>
        <label className="radio">
          <input type="checkbox" checked={selfActivation} onChange={(e) => setSelfActivation(e.target.checked)} /> Members may take a seat
          with the key
        </label>
        <ErrorMessage error={error} />
        <button type="submit">Issue license</button>
      </form>
    </section>
  );
}

export function AdminTokens() {
  const [userId, setUserId] = useState('');
  const [amount, setAmount] = useState('100');
  const [reason, setReason] = useState('contest_winner');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    try {
      const r = await api.post('/api/tokens/award', {
        idempotencyKey: newIdempotencyKey('award'),
        body: { userId: userId.trim(), reason, amount: Number(amount) },
      });
      const entry = 'entry' in r ? r.entry : undefined;
      setDone(entry ? `Awarded ${entry.delta} tokens; balance ${entry.balanceAfter}.` : 'Award recorded.');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Award tokens</h1>
      <AdminNav />
      <form className="card" onSubmit={submit} aria-label="Award tokens">
        <Field label="User id">
          <input name="userId" value={userId} onChange={(e) => setUserId(e.target.value)} />
        </Field>
        <Field label="Amount" hint="Negative to take tokens back">
          <input name="amount" inputMode="numeric" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </Field>
        <Field label="Reason" hint="lowercase_with_underscores">
          <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
        <ErrorMessage error={error} />
        {done && <Notice>{done}</Notice>}
        <button type="submit">Award</button>
      </form>
    </section>
  );
}
