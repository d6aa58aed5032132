import { useState, type FormEvent } from 'react';
import { api, ApiError, newIdempotencyKey, type components } from '../api/client';
import { AsyncView, Empty, ErrorMessage, Field, Notice, useAsync } from '../components/ui';
import { Chart } from '../components/Chart';
import { formatDate } from '../format';
import { WhiteLabelSettings } from './WhiteLabel';
import { Link, navigate } from '../router';
import { hasRole, useSession } from '../session';

type License = components['schemas']['License'];

/** The API has no list of an org's licenses: the console remembers the ones opened here. */
const RECENT_KEY = 'azora.recentLicenses';
function recentLicenses(): string[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
export function rememberLicense(id: string) {
  localStorage.setItem(RECENT_KEY, JSON.stringify([id, ...recentLicenses().filter((x) => x !== id)].slice(0, 10)));
}

export function Licenses() {
  const [id, setId] = useState('');
  const recent = recentLicenses();
  const open = (e: FormEvent) => {
    e.preventDefault();
    if (id.trim()) navigate(`/enterprise/licenses/${encodeURIComponent(id.trim())}`);
  };
  return (
    <section>
      <h1>Licenses</h1>
      <p>
        More seats or a new license? <Link to="/enterprise/quotes">Get a quote</Link>.
      </p>
      <form className="card inline" onSubmit={open} aria-label="Open a license">
        <Field label="License id" hint="From your license email, e.g. lic_demo">
          <input name="licenseId" value={id} onChange={(e) => setId(e.target.value)} />
        </Field>
        <button type="submit">Open</button>
      </form>
      <h2>Recently opened</h2>
      {recent.length === 0 ? (
        <Empty>No licenses opened in this browser yet.</Empty>
      ) : (
        <ul>
          {recent.map((r) => (
            <li key={r}>
              <Link to={`/enterprise/licenses/${encodeURIComponent(r)}`}>{r}</Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function LicensePage({ licenseId }: { licenseId: string }) {
  const isAdmin = hasRole(useSession(), 'admin');
  const [license, reload] = useAsync(async (signal) => {
    const l = await api.get('/api/enterprise/licenses/{licenseId}', { signal, params: { licenseId } });
    rememberLicense(licenseId);
    return l;
  }, [licenseId]);
  return (
    <section>
      <p>
        <Link to="/enterprise">← Licenses</Link>
      </p>
      <AsyncView value={license} what="the license" retry={reload}>
        {(l) => (
          <>
            <h1>{l.orgName}</h1>
            <SeatMeter license={l} />
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                <span className={`badge status-${l.status}`}>{l.status}</span>
                {l.inGrace && <span className="badge">in grace until {formatDate(l.graceUntil)}</span>}
              </dd>
              <dt>Organisation</dt>
              <dd>{l.orgId}</dd>
              <dt>Expires</dt>
              <dd>{formatDate(l.expiresAt)}</dd>
              <dt>Features</dt>
              <dd>{l.features.join(', ')}</dd>
              <dt>Self-activation</dt>
              <dd>{l.selfActivation ? 'Members may take a seat with the key' : 'Only admins assign seats'}</dd>
              <dt>Key</dt>
              <dd>
                <code className="key">{l.key}</code>
              </dd>
            </dl>
            <Seats license={l} onChanged={reload} />
            {l.features.includes('white_label') && <WhiteLabelSettings license={l} onChanged={reload} />}
            {isAdmin && <LicenseAdmin license={l} onChanged={reload} />}
            <Usage licenseId={l.licenseId} />
          </>
        )}
      </AsyncView>
    </section>
  );
}

function SeatMeter({ license }: { license: License }) {
  return (
    <div className="meter" aria-label="Seats">
      <meter min={0} max={license.seats} value={license.seatsUsed} />
      <span data-testid="seats">
        {license.seatsUsed} of {license.seats} seats used
      </span>
    </div>
  );
}

function Seats({ license, onChanged }: { license: License; onChanged: () => void }) {
  const [userId, setUserId] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: 'assign' | 'release') => {
    if (!userId.trim()) {
      setError(new ApiError(0, 'validation_failed', '', { field: 'userId' }));
      return;
    }
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      if (action === 'assign') {
        const r = await api.post('/api/enterprise/licenses/activate', {
          idempotencyKey: newIdempotencyKey('seat'),
          body: { key: license.key, userId: userId.trim() },
        });
        setDone(r.alreadyActive ? `${r.userId} already holds a seat.` : `Seat assigned to ${r.userId}.`);
      } else {
        const r = await api.post('/api/enterprise/licenses/deactivate', {
          idempotencyKey: newIdempotencyKey('release'),
          body: { licenseId: license.licenseId, userId: userId.trim() },
        });
        setDone(`Seat of ${r.userId} released.`);
      }
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card inline" onSubmit={(e) => (e.preventDefault(), run('assign'))} aria-label="Seats">
      <h2>Assign or release a seat</h2>
      <Field label="Member's user id">
        <input name="userId" value={userId} onChange={(e) => setUserId(e.target.value)} />
      </Field>
      <button type="submit" disabled={busy}>
        Assign seat
      </button>
      <button type="button" className="secondary" disabled={busy} onClick={() => run('release')}>
        Release seat
      </button>
      <ErrorMessage error={error} />
      {done && <Notice>{done}</Notice>}
    </form>
  );
}

const count = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function Usage({ licenseId }: { licenseId: string }) {
  const [usage, reload] = useAsync((signal) => api.get('/api/enterprise/usage', { signal, query: { licenseId } }), [licenseId]);
  return (
    <>
      <h2>Usage by month</h2>
      <AsyncView value={usage} what="usage" retry={reload}>
        {(u) =>
          u.months.length === 0 ? (
            <Empty>No usage recorded yet.</Empty>
          ) : (
            <>
              <Chart
                kind="bar"
                testId="usage-chart"
                integer
                tableElsewhere="the usage table below"
                title={`Seats used (of ${u.seats}), active learners and courses completed by month`}
                labels={u.months.map((m) => m.month)}
                format={(v) => count.format(v)}
                series={[
                  { label: 'Seats used', color: '#1f5fbf', values: u.months.map((m) => m.seatsUsed) },
                  { label: 'Active learners', color: '#1c7c3c', values: u.months.map((m) => m.activeLearners) },
                  { label: 'Courses completed', color: '#b35c00', values: u.months.map((m) => m.coursesCompleted) },
                ]}
              />
              <table className="table" aria-label="Usage">
                <thead>
                  <tr>
                    <th>Month</th>
                    <th className="num">Seats used</th>
                    <th className="num">Active learners</th>
                    <th className="num">Courses started</th>
                    <th className="num">Completed</th>
                    <th className="num">Tokens earned</th>
                  </tr>
                </thead>
                <tbody>
                  {u.months.map((m) => (
                    <tr key={m.month}>
                      <td>{m.month}</td>
                      <td className="num">{m.seatsUsed}</td>
                      <td className="num">{m.activeLearners}</td>
                      <td className="num">{m.coursesStarted}</td>
                      <td className="num">{m.coursesCompleted}</td>
                      <td className="num">{m.tokensEarned}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        }
      </AsyncView>
    </>
  );
}

/** An admin's changes to a license: each audited by the API, each its own Idempotency-Key. */
function LicenseAdmin({ license, onChanged }: { license: License; onChanged: () => void }) {
  const [reason, setReason] = useState('');
  const [seats, setSeats] = useState(String(license.seats));
  const [termMonths, setTermMonths] = useState('12');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const params = { licenseId: license.licenseId };
  const run = async (what: string, change: (idempotencyKey: string) => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await change(newIdempotencyKey('license-change'));
      setDone(what);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const body = { reason: reason.trim() || undefined };
  // Suspending and revoking need a reason (it goes to the audit log).
  const reasoned = { reason: reason.trim() };
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Manage license">
      <h2>Manage (admin)</h2>
      <div className="row">
        <Field label="Seats">
          <input name="seats" inputMode="numeric" value={seats} onChange={(e) => setSeats(e.target.value)} />
        </Field>
        <Field label="Extend by (months)">
          <input name="termMonths" inputMode="numeric" value={termMonths} onChange={(e) => setTermMonths(e.target.value)} />
        </Field>
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run('License renewed; it has a new key.', (idempotencyKey) =>
              api.post('/api/enterprise/licenses/{licenseId}/renew', {
                params,
                idempotencyKey,
                body: { seats: Number(seats), termMonths: Number(termMonths) },
              }),
            )
          }
        >
          Renew
        </button>
      </div>
      <div className="row">
        <Field label="Reason" hint="Needed to suspend or revoke">
          <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
        {license.status === 'suspended' ? (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              run('License reinstated.', (idempotencyKey) =>
                api.post('/api/enterprise/licenses/{licenseId}/reinstate', { params, idempotencyKey, body }),
              )
            }
          >
            Reinstate
          </button>
        ) : (
          <button
            type="button"
            className="secondary"
            disabled={busy || license.status !== 'active' || !reasoned.reason}
            onClick={() =>
              run('License suspended.', (idempotencyKey) =>
                api.post('/api/enterprise/licenses/{licenseId}/suspend', { params, idempotencyKey, body: reasoned }),
              )
            }
          >
            Suspend
          </button>
        )}
        <button
          type="button"
          className="secondary"
          disabled={busy || license.status === 'revoked' || !reasoned.reason}
          onClick={() =>
            window.confirm('Revoke this license for good? Its seats stop working.') &&
            run('License revoked.', (idempotencyKey) =>
              api.post('/api/enterprise/licenses/{licenseId}/revoke', { params, idempotencyKey, body: reasoned }),
            )
          }
        >
          Revoke
        </button>
      </div>
      <ErrorMessage error={error} />
      {done && <Notice>{done}</Notice>}
    </form>
  );
}
