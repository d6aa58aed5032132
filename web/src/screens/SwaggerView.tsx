// Swagger UI (swagger-ui-dist from npm, bundled: no CDN) over the API's own document. Loaded only
// when the API reference opens (a separate chunk), so it does not count against the console's
// initial JavaScript. "Try it out" calls the server that serves this console (the document's
// servers are replaced with this origin), with the signed-in user's token unless one is typed in
// under Authorize.
import { useEffect, useRef } from 'react';
import SwaggerUI from 'swagger-ui-dist/swagger-ui-es-bundle.js';
import 'swagger-ui-dist/swagger-ui.css';
import './swagger-overrides.css';
import { useSession } from '../session';

export default function SwaggerView({ spec }: { spec: Record<string, unknown> }) {
  const node = useRef<HTMLDivElement>(null);
  const token = useSession()?.token ?? null;
  useEffect(() => {
    if (!node.current) return;
    SwaggerUI({
      domNode: node.current,
      spec: { ...spec, servers: [{ url: location.origin, description: 'The server of this console' }] },
      deepLinking: false,
      persistAuthorization: false,
      displayRequestDuration: true,
      requestInterceptor: (request) => {
        const hasAuth = Object.keys(request.headers).some((h) => h.toLowerCase() === 'authorization');
        if (token && !hasAuth && request.url.startsWith(`${location.origin}/api/`)) {
          request.headers.Authorization = `Bearer ${token}`;
        }
        return request;
      },
    });
  }, [spec, token]);
  // Swagger UI leaves its server picker unnamed; name it whenever it is (re)drawn.
  useEffect(() => {
    const root = node.current;
    if (!root) return;
    const label = () =>
      root.querySelectorAll('select#servers:not([aria-label])').forEach((s) => s.setAttribute('aria-label', 'Server'));
    const observer = new MutationObserver(label);
    observer.observe(root, { childList: true, subtree: true });
    label();
    return () => observer.disconnect();
  }, []);
  return <div ref={node} className="swagger" data-testid="swagger" />;
}
