// Class leaderboards: an instructor (or an enterprise admin) creates a class and shares its join
// code; learners join with the code and see the class's board. Members who hide from leaderboards
// stay "Anonymous learner" here too (the API decides; the console only shows what it answers).
// The API has no list of a user's classes, so the console remembers the ones created, joined or
// opened on this device, per user, like the recently opened licenses.
import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey, type components } from '../api/client';
import { AsyncView, Empty, ErrorMessage, Field, useAsync } from '../components/ui';
import { formatDate } from '../format';
import { Link, navigate } from '../router';
import { hasRole, useSession } from '../session';
import { Board } from '../components/Board';

type Class = components['schemas']['Class'];
type Remembered = { classId: string; name: string };

function storageKey(sub: string) {
  return `azora.classes.${sub}`;
}

function rememberedClasses(sub: string): Remembered[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(storageKey(sub)) ?? '[]');
    return Array.isArray(parsed)
      ? parsed.filter(
          (x): x is Remembered => typeof x === 'object' && x !== null && typeof x.classId === 'string' && typeof x.name === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

function remember(sub: string, c: Remembered) {
  const rest = rememberedClasses(sub).filter((x) => x.classId !== c.classId);
  localStorage.setItem(storageKey(sub), JSON.stringify([{ classId: c.classId, name: c.name }, ...rest].slice(0, 20)));
}

function classLink(id: string) {
  return `/leaderboards/classes/${encodeURIComponent(id)}`;
}

/** On the leaderboards screen: create (instructors, enterprise admins), join, and the classes known here. */
export function ClassesPanel() {
  const session = useSession();
  const sub = session?.sub ?? '';
  const canCreate = hasRole(session, 'instructor', 'enterprise');
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const known = rememberedClasses(sub);

  const opened = (c: Class) => {
    remember(sub, c);
    navigate(classLink(c.classId));
  };
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
      {known.length === 0 ? (
        <Empty>No classes here yet. Join one with the code your instructor shares.</Empty>
      ) : (
        <ul aria-label="Your classes">
          {known.map((c) => (
            <li key={c.classId}>
              <Link to={classLink(c.classId)}>{c.name}</Link>
            </li>
          ))}
        </ul>
      )}
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
  const sub = useSession()?.sub ?? '';
  const [period, setPeriod] = useState<'week' | 'all'>('week');
  const [board, reload] = useAsync(async (signal) => {
    const b = await api.get('/api/leaderboard/class/{classId}', { signal, params: { classId }, query: { period } });
    if (b.class) remember(sub, b.class);
    return b;
  }, [classId, period, sub]);
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
