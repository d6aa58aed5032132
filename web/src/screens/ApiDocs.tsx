// The API reference: the OpenAPI document the API serves (GET /api/openapi.json) in Swagger UI,
// which is loaded on demand (see SwaggerView).
import { lazy, Suspense } from 'react';
import { api } from '../api/client';
import { AsyncView, Loading, useAsync } from '../components/ui';
import { useSession } from '../session';

const SwaggerView = lazy(() => import('./SwaggerView'));

export function ApiDocs() {
  const signedIn = !!useSession();
  const [spec, reload] = useAsync(
    async (signal) => (await api.get('/api/openapi.json', { signal })) as Record<string, unknown>,
    [],
  );
  return (
    <section>
      <h1>API reference</h1>
      <p>
        Every endpoint of the Azora API, from the document it serves at <a href="/api/openapi.json">/api/openapi.json</a>.
        &ldquo;Try it out&rdquo; sends real requests to this server
        {signedIn ? ' as you (your session token), unless you set another under Authorize.' : '; sign in, or use Authorize, for the endpoints that need a token.'}
      </p>
      <AsyncView value={spec} what="the API document" retry={reload}>
        {(doc) => (
          <Suspense fallback={<Loading what="the API reference viewer" />}>
            <SwaggerView spec={doc} />
          </Suspense>
        )}
      </AsyncView>
    </section>
  );
}
