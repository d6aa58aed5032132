import { useEffect, useState, type FormEvent } from 'react';
import { consoleConfig, type OidcSettings } from '../config';
import { devToken, localFeatures, type LocalFeatures } from '../local';
import { beginSignIn, finishSignIn } from '../oidc';
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
  const [options] = useAsync(async () => {
    const local = await localFeatures();
    // Under the local server there is no provider to ask about.
    return { local, config: local.devSignIn ? {} : await consoleConfig() };
  }, []);
  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <AsyncView value={options} what="sign-in options">
        {({ local, config }) =>
          local.devSignIn ? (
            <DevSignIn next={next} />
          ) : config.oidc ? (
            <ProviderSignIn settings={config.oidc} next={next} />
          ) : (
            <NoSignIn features={local} />
          )
        }
      </AsyncView>
    </section>
  );
}

function NoSignIn({ features }: { features: LocalFeatures }) {
  return (
    <div className="notice" role="status">
      {features.local
        ? 'Dev sign-in is off: the local server does not sign HS256 tokens (JWT_ALGORITHM).'
        : 'Sign-in is not configured for this console (no identity provider in /console-config.json).'}
    </div>
  );
}

/** In AWS: the identity provider's own sign-in page (Authorization Code + PKCE). */
function ProviderSignIn({ settings, next }: { settings: OidcSettings; next: string | null }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      await beginSignIn(settings, next && next.startsWith('/') ? next : null);
    } catch (e) {
      setError(new ApiError(0, 'sign_in_failed', e instanceof Error ? e.message : 'Sign-in could not start.'));
      setBusy(false);
    }
  };
  return (
    <div className="card">
      <p>You sign in with your account at {settings.label ?? 'the Azora identity provider'}; it sends you back here.</p>
      <ErrorMessage error={error} />
      <button type="button" className="primary" onClick={() => void go()} disabled={busy}>
        {busy ? 'Opening the sign-in page…' : `Sign in with ${settings.label ?? 'your Azora account'}`}
      </button>
    </div>
  );
}

/** `/auth/callback`: where the identity provider sends the browser back with a code. */
export function SignInCallback({ query }: { query: URLSearchParams }) {
  const [error, setError] = useState<unknown>(null);
  const search = query.toString();
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const { oidc } = await consoleConfig();
      if (!oidc) throw new ApiError(0, 'sign_in_failed', 'Sign-in is not configured for this console.');
      const { idToken, next } = await finishSignIn(oidc, new URLSearchParams(search));
      const session = signIn(idToken);
      if (!session) throw new ApiError(0, 'sign_in_failed', 'The identity provider gave a token without a user.');
      if (!cancelled) navigate(next ?? home(session.roles[0] ?? 'student'), true);
    })().catch((e: unknown) => {
      if (!cancelled) setError(e instanceof ApiError ? e : new ApiError(0, 'sign_in_failed', e instanceof Error ? e.message : 'Sign-in failed.'));
    });
    return () => {
      cancelled = true;
    };
  }, [search]);
  return (
    <section className="narrow">
      <h1>Signing you in…</h1>
      {error ? (
        <>
          <ErrorMessage error={error} />
          <p>
            <a href="/signin">Sign in again</a>
          </p>
        </>
      ) : (
        <p className="loading" role="status">
          Checking your sign-in…
        </p>
      )}
    </section>
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
