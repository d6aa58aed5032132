// The signed-in user: the bearer token and what its claims say. The claims only shape the
// screens; the API checks the token on every call and stays the only authority.
import { useSyncExternalStore } from 'react';
import { setBearer } from './api/client';

export type Role = 'student' | 'instructor' | 'enterprise' | 'admin' | 'service';

export interface Session {
  token: string;
  sub: string;
  roles: Role[];
  org: string | null;
  expiresAt: number;
}

const STORAGE_KEY = 'azora.session';
let current: Session | null = load();
const listeners = new Set<() => void>();

function decodeClaims(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function sessionFromToken(token: string): Session | null {
  const claims = decodeClaims(token);
  if (!claims || typeof claims.sub !== 'string') return null;
  const roles = Array.isArray(claims.roles) ? (claims.roles.filter((r) => typeof r === 'string') as Role[]) : [];
  return {
    token,
    sub: claims.sub,
    roles,
    org: typeof claims.org === 'string' ? claims.org : null,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : 0,
  };
}

function load(): Session | null {
  const token = localStorage.getItem(STORAGE_KEY);
  const session = token ? sessionFromToken(token) : null;
  if (!session || session.expiresAt * 1000 < Date.now()) return null;
  return session;
}

function publish() {
  setBearer(current?.token ?? null, signOut);
  listeners.forEach((l) => l());
}
publish();

export function signIn(token: string): Session | null {
  const session = sessionFromToken(token);
  if (!session) return null;
  localStorage.setItem(STORAGE_KEY, token);
  current = session;
  publish();
  return session;
}

export function signOut() {
  localStorage.removeItem(STORAGE_KEY);
  current = null;
  publish();
}

export function useSession(): Session | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}

export function hasRole(session: Session | null, ...roles: Role[]): boolean {
  return !!session && roles.some((r) => session.roles.includes(r));
}
