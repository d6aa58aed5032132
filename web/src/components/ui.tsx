// The states every screen shows: loading, empty, error; and a hook that loads data for them.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { humanMessage } from '../api/errors';
import { ApiError } from '../api/client';

export type Async<T> =
  | { state: 'loading' }
  | { state: 'error'; error: unknown }
  | { state: 'ready'; data: T };

/**
 * Loads with `load` whenever `deps` change (shown as loading until then); `reload` loads again
 * and keeps showing the current data meanwhile, so polling does not flicker.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): [Async<T>, () => void] {
  const depsKey = JSON.stringify(deps);
  const [result, setResult] = useState<{ depsKey: string; value: Async<T> } | null>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setResult({ depsKey, value: { state: 'ready', data } }),
      (error: unknown) => !controller.signal.aborted && setResult({ depsKey, value: { state: 'error', error } }),
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller names what the load depends on
  }, [depsKey, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return [result?.depsKey === depsKey ? result.value : { state: 'loading' }, reload];
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function ErrorMessage({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div className="error" role="alert" data-code={code}>
      <span>{humanMessage(error)}</span>
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Renders `ready` with the data, or the loading/error state. */
export function AsyncView<T>({
  value,
  what,
  retry,
  children,
}: {
  value: Async<T>;
  what: string;
  retry?: () => void;
  children: (data: T) => ReactNode;
}) {
  if (value.state === 'loading') return <Loading what={what} />;
  if (value.state === 'error') return <ErrorMessage error={value.error} retry={retry} />;
  return <>{children(value.data)}</>;
}

export function Field({
  label,
  error,
  children,
  hint,
}: {
  label: string;
  error?: string | undefined;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <label className={error ? 'field invalid' : 'field'}>
      <span className="label">{label}</span>
      {children}
      {hint && !error && <span className="hint">{hint}</span>}
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </label>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

/** "Load more" over the API's opaque cursors. */
export function MoreButton({ cursor, onMore, busy }: { cursor: string | null | undefined; onMore: () => void; busy?: boolean }) {
  if (!cursor) return null;
  return (
    <button type="button" className="more" onClick={onMore} disabled={busy}>
      {busy ? 'Loading…' : 'Load more'}
    </button>
  );
}
