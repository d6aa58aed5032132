// Class leaderboards: an instructor (or an enterprise admin) creates a class and shares its join
// code; learners join with the code and see the class's board. Members who hide from leaderboards
// stay "Anonymous learner" here too (the API decides; the console only shows what it answers).
// The classes a user created or joined come from the API (`GET /api/classes`), on any device.
import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey, type components } from '../api/client';
import { AsyncView, Empty, ErrorMessage, Field, useAsync } from '../components/ui';
import { Pager, useCursorPages } from '../components/paging';
import { formatDate } from '../format';
import { Link, navigate } from '../router';
import { hasRole, useSession } from '../session';
import { Board } from '../components/Board';

type Class = components['schemas']['Class'];

function classLink(id: string) {
  return `/leaderboards/classes/${encodeURIComponent(id)}`;
}

/** On the leaderboards screen: the caller's classes, create (instructors, enterprise admins) and join. */
export function ClassesPanel() {
  const session = useSession();
  const canCreate = hasRole(session, 'instructor', 'enterprise');
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const pages = useCursorPages(session?.sub ?? '');
  const [mine, reload] = useAsync(
    (signal) => api.get('/api/classes', { signal, query: { limit: 20, cursor: pages.cursor } }),
    [session?.sub, pages.cursor],
  );

  const opened = (c: Class) => navigate(classLink(c.classId));
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      opened(await api.post('/api/classes', { idempotencyKey: newIdempotencyKey('class'), body: { name: name.trim() } }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const join = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      opened(await api.post('/api/classes/join', { body: { joinCode: code.replace(/[\s-]/g, '') } }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <div className="card" data-testid="classes">
      <h2>Classes</h2>
      <p>A class has its own board: only its members and its owner see it.</p>
      <AsyncView value={mine} what="your classes" retry={reload}>
        {(page) =>
          page.items.length === 0 && pages.page === 1 ? (
            <Empty>No classes yet. Join one with the code your instructor shares.</Empty>
          ) : (
            <>
              <ul aria-label="Your classes">
                {page.items.map((c) => (
                  <li key={c.classId}>
                    <Link to={classLink(c.classId)}>{c.name}</Link>{' '}
                    <span className="muted">
                      {c.role === 'owner' ? 'yours' : 'joined'} · {c.memberCount} {c.memberCount === 1 ? 'member' : 'members'}
                    </span>
                  </li>
                ))}
              </ul>
              {(pages.page > 1 || page.nextCursor) && <Pager pages={pages} nextCursor={page.nextCursor} />}
            </>
          )
        }
      </AsyncView>
      <div className="columns">
        <form className="inline" onSubmit={join} aria-label="Join a class">
          <Field label="Join code" hint="16 letters and digits">
            <input name="joinCode" value={code} onChange={(e) => setCode(e.target.value)} autoComplete="off" maxLength={24} />
          </Field>
          <button type="submit" disabled={busy || !code.trim()}>
            Join class
          </button>
        </form>
        {canCreate && (
          <form className="inline" onSubmit={create} aria-label="Create a class">
            <Field label="Class name">
              <input name="className" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
            </Field>
            <button type="submit" disabled={busy || !name.trim()}>
              Create class
            </button>
          </form>
        )}
      </div>
      <ErrorMessage error={error} />
    </div>
  );
}

/** One class's board; its owner also sees the join code to share. */
export function ClassBoard({ classId }: { classId: string }) {
  const [period, setPeriod] = useState<'week' | 'all'>('week');
  const [board, reload] = useAsync(
    (signal) => api.get('/api/leaderboard/class/{classId}', { signal, params: { classId }, query: { period } }),
    [classId, period],
  );
  return (
    <section>
      <p>
        <Link to="/leaderboards">← Leaderboards</Link>
      </p>
      <AsyncView value={board} what="the class" retry={reload}>
        {(b) => (
          <>
            <h1>{b.class?.name ?? 'Class'}</h1>
            <p>
              {b.class?.memberCount ?? 0} {b.class?.memberCount === 1 ? 'member' : 'members'}, created{' '}
              {formatDate(b.class?.createdAt)}.
            </p>
            {b.class?.joinCode && (
              <p className="notice">
                Join code for your learners: <code data-testid="join-code">{b.class.joinCode}</code> — they enter it
                under Leaderboards → Classes.
              </p>
            )}
            <div role="tablist" aria-label="Period" className="tabs">
              {(['week', 'all'] as const).map((p) => (
                <button
                  key={p}
                  type="button"
                  role="tab"
                  aria-selected={period === p}
                  className={period === p ? 'active' : 'secondary'}
                  onClick={() => setPeriod(p)}
                >
                  {p === 'week' ? 'This week' : 'All time'}
                </button>
              ))}
            </div>
            {(b.entries ?? []).length === 0 ? (
              <Empty>Nobody has joined this class yet.</Empty>
            ) : (
              <Board entries={b.entries ?? []} />
            )}
          </>
        )}
      </AsyncView>
    </section>
  );
}
