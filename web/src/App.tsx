import { useEffect, type ReactNode } from 'react';
import { Link, match, navigate, useLocation } from './router';
import { hasRole, signOut, useSession, type Role, type Session } from './session';
import { useCart } from './cart';
import { SignIn, SignInCallback } from './screens/SignIn';
import { CALLBACK_PATH, signOutUrl } from './oidc';
import { consoleConfig } from './config';
import { Catalog } from './screens/Catalog';
import { CourseDetail } from './screens/CourseDetail';
import { Checkout } from './screens/Checkout';
import { PaymentDetail, PaymentHistory } from './screens/Payments';
import { Tokens } from './screens/Tokens';
import { Leaderboards } from './screens/Leaderboards';
import { ClassBoard } from './screens/Classes';
import { QuotePage, Quotes } from './screens/Quotes';
import { ApiDocs } from './screens/ApiDocs';
import { CourseEditor, InstructorCourses, InstructorEarnings } from './screens/Instructor';
import { LicensePage, Licenses } from './screens/Enterprise';
import { AdminAudit, AdminLicenses, AdminPayments, AdminTokens } from './screens/Admin';
import { Pricing } from './screens/Pricing';
import { Billing } from './screens/Billing';
import { InstructorPayouts } from './screens/Payouts';
import { MyCourses } from './screens/MyCourses';
import { SupportQueue, SupportTicket, SupportTickets } from './screens/Support';

interface Screen {
  pattern: string;
  /** Who may open it; the API refuses the rest anyway, the console just does not offer it. */
  roles?: Role[];
  render: (params: Record<string, string>, query: URLSearchParams) => ReactNode;
}

const ALL: Role[] = ['student', 'instructor', 'enterprise', 'admin'];

const SCREENS: Screen[] = [
  { pattern: '/', render: (_, q) => <Catalog query={q} /> },
  { pattern: '/courses', render: (_, q) => <Catalog query={q} /> },
  { pattern: '/courses/:courseId', render: (p) => <CourseDetail courseId={p.courseId!} /> },
  { pattern: '/pricing', render: () => <Pricing /> },
  { pattern: '/docs', render: () => <ApiDocs /> },
  { pattern: '/billing', roles: ALL, render: (_, q) => <Billing query={q} /> },
  { pattern: '/billing/payment-method', roles: ALL, render: () => <Billing focus="payment-method" /> },
  { pattern: '/checkout', roles: ALL, render: () => <Checkout /> },
  { pattern: '/my-courses', roles: ALL, render: () => <MyCourses /> },
  { pattern: '/payments', roles: ALL, render: () => <PaymentHistory /> },
  { pattern: '/payments/:paymentId', roles: ALL, render: (p) => <PaymentDetail paymentId={p.paymentId!} /> },
  { pattern: '/tokens', roles: ALL, render: () => <Tokens /> },
  { pattern: '/leaderboards', roles: ALL, render: () => <Leaderboards /> },
  { pattern: '/leaderboards/classes/:classId', roles: ALL, render: (p) => <ClassBoard classId={p.classId!} /> },
  { pattern: '/instructor', roles: ['instructor'], render: () => <InstructorCourses /> },
  { pattern: '/instructor/earnings', roles: ['instructor'], render: () => <InstructorEarnings /> },
  { pattern: '/instructor/payouts', roles: ['instructor'], render: (_, q) => <InstructorPayouts query={q} /> },
  { pattern: '/instructor/courses/new', roles: ['instructor'], render: () => <CourseEditor /> },
  { pattern: '/instructor/courses/:courseId', roles: ['instructor'], render: (p) => <CourseEditor courseId={p.courseId} /> },
  { pattern: '/enterprise', roles: ['enterprise', 'admin'], render: () => <Licenses /> },
  { pattern: '/enterprise/quotes', roles: ALL, render: () => <Quotes /> },
  { pattern: '/enterprise/quotes/:quoteId', roles: ALL, render: (p) => <QuotePage quoteId={p.quoteId!} /> },
  { pattern: '/enterprise/licenses/:licenseId', roles: ['enterprise', 'admin'], render: (p) => <LicensePage licenseId={p.licenseId!} /> },
  { pattern: '/admin', roles: ['admin'], render: (_, q) => <AdminAudit query={q} /> },
  { pattern: '/admin/payments', roles: ['admin'], render: (_, q) => <AdminPayments query={q} /> },
  { pattern: '/admin/licenses', roles: ['admin'], render: () => <AdminLicenses /> },
  { pattern: '/admin/tokens', roles: ['admin'], render: () => <AdminTokens /> },
  { pattern: '/admin/support', roles: ['admin'], render: () => <SupportQueue /> },
  { pattern: '/support', roles: ['enterprise'], render: () => <SupportTickets /> },
  { pattern: '/support/:ticketId', roles: ['enterprise', 'admin'], render: (p) => <SupportTicket ticketId={p.ticketId!} /> },
];

const NAV: { to: string; label: string; roles?: Role[] }[] = [
  { to: '/courses', label: 'Catalog' },
  { to: '/pricing', label: 'Plans' },
  { to: '/my-courses', label: 'My learning', roles: ALL },
  { to: '/billing', label: 'Billing', roles: ALL },
  { to: '/payments', label: 'Payments', roles: ALL },
  { to: '/tokens', label: 'Tokens', roles: ALL },
  { to: '/leaderboards', label: 'Leaderboards', roles: ALL },
  { to: '/instructor', label: 'Teach', roles: ['instructor'] },
  { to: '/enterprise', label: 'Licenses', roles: ['enterprise', 'admin'] },
  { to: '/support', label: 'Support', roles: ['enterprise'] },
  { to: '/admin', label: 'Admin', roles: ['admin'] },
  { to: '/docs', label: 'API' },
];

function allowed(session: Session | null, roles: Role[] | undefined): boolean {
  return !roles || hasRole(session, ...roles);
}

export function App() {
  const session = useSession();
  const { path, query } = useLocation();
  const cartItems = useCart();

  // A signed-out visitor who opens a members' screen signs in first, then comes back.
  const screen = SCREENS.map((s) => ({ s, params: match(s.pattern, path) })).find((x) => x.params);
  const needsSignIn = !!screen?.s.roles && !session;
  useEffect(() => {
    if (needsSignIn) navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, true);
  }, [needsSignIn, path]);

  let body: ReactNode;
  if (path === '/signin') body = <SignIn next={query.get('next')} />;
  else if (path === CALLBACK_PATH) body = <SignInCallback query={query} />;
  else if (!screen) body = <NotFound />;
  else if (needsSignIn) body = null;
  else if (!allowed(session, screen.s.roles)) body = <Forbidden />;
  else body = screen.s.render(screen.params ?? {}, query);

  return (
    <>
      <header className="topbar">
        <Link to="/courses" className="brand">
          Azora
        </Link>
        <nav aria-label="Main">
          {NAV.filter((n) => allowed(session, n.roles)).map((n) => (
            <Link key={n.to} to={n.to} className={path.startsWith(n.to) ? 'active' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="account">
          {session && (
            <Link to="/checkout" className="cart-link">
              Cart ({cartItems.length})
            </Link>
          )}
          {session ? (
            <>
              <span className="who" data-testid="who">
                {session.sub} · {session.roles.join(', ')}
                {session.org ? ` · ${session.org}` : ''}
              </span>
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  signOut();
                  // With an identity provider, end its session too (it comes back to the console).
                  void consoleConfig().then(({ oidc }) => {
                    const url = oidc ? signOutUrl(oidc) : null;
                    if (url) window.location.assign(url);
                    else navigate('/signin');
                  });
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <Link to="/signin">Sign in</Link>
          )}
        </div>
      </header>
      <main>{body}</main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link to="/courses">Back to the catalog</Link>
      </p>
    </section>
  );
}

function Forbidden() {
  return (
    <section>
      <h1>Not available to your account</h1>
      <p>This screen is for another role. Sign in with an account that has it.</p>
    </section>
  );
}
