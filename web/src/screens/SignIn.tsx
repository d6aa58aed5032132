import { useState, type FormEvent } from 'react';
import { devToken, localFeatures, type LocalFeatures } from '../local';
import { navigate } from '../router';
import { signIn, type Role } from '../session';
import { AsyncView, ErrorMessage, Field, useAsync } from '../components/ui';
import { ApiError } from '../api/client';

const ROLES: Role[] = ['student', 'instructor', 'enterprise', 'admin'];

/** Seeded by `make dev` (infra/local/src/seed.rs). */
const PRESETS: { label: string; role: Role; sub: string; org: string }[] = [
  { label: 'Student', role: 'student', sub: 'demo-student', org: '' },
  { label: 'Pro subscriber', role: 'student', sub: 'demo-pro', org: '' },
  { label: 'Instructor', role: 'instructor', sub: 'demo-instructor', org: '' },
  { label: 'Enterprise admin (demo-org)', role: 'enterprise', sub: 'demo-enterprise', org: 'demo-org' },
  { label: 'Admin', role: 'admin', sub: 'demo-admin', org: '' },
];

export function SignIn({ next }: { next: string | null }) {
  const [features] = useAsync(() => localFeatures(), []);
  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <AsyncView value={features} what="sign-in options">
        {(f) => (f.devSignIn ? <DevSignIn next={next} /> : <NoSignIn features={f} />)}
      </AsyncView>
    </section>
  );
}

function NoSignIn({ features }: { features: LocalFeatures }) {
  return (
    <div className="notice" role="status">
      {features.local
        ? 'Dev sign-in is off: the local server does not sign HS256 tokens (JWT_ALGORITHM).'
        : 'Sign-in with your organisation’s identity provider is not available in this build yet.'}
    </div>
  );
}

function DevSignIn({ next }: { next: string | null }) {
  const [role, setRole] = useState<Role>('student');
  const [sub, setSub] = useState('demo-student');
  const [org, setOrg] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const fieldError = (name: string) =>
    error instanceof ApiError && error.field === name ? error.message : undefined;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { token } = await devToken(role, sub.trim(), org.trim() || null);
      if (!signIn(token)) throw new ApiError(0, 'unauthorized', 'The server gave an unreadable token.');
      navigate(next && next.startsWith('/') ? next : home(role), true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="card" aria-label="Dev sign-in">
      <p className="hint">
        Local development only: pick who you are. The local server signs a token for you, as{' '}
        <code>make token</code> does.
      </p>
      <div className="presets">
        {PRESETS.map((p) => (
          <button
            key={p.label}
            type="button"
            className="secondary"
            onClick={() => {
              setRole(p.role);
              setSub(p.sub);
              setOrg(p.org);
            }}
          >
            {p.label}
          </button>
        ))}
      </div>
      <Field label="Role" error={fieldError('role')}>
        <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </Field>
      <Field label="User id" error={fieldError('sub')}>
        <input name="sub" value={sub} onChange={(e) => setSub(e.target.value)} required autoComplete="username" />
      </Field>
      <Field label="Organisation (enterprise)" hint="The org claim, e.g. demo-org">
        <input name="org" value={org} onChange={(e) => setOrg(e.target.value)} />
      </Field>
      {!(error instanceof ApiError && error.field) && <ErrorMessage error={error} />}
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function home(role: Role): string {
  switch (role) {
    case 'instructor':
      return '/instructor';
    case 'enterprise':
      return '/enterprise';
    case 'admin':
      return '/admin';
    default:
      return '/courses';
  }
}
