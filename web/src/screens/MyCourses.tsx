// The learner's library: every course they own, bought or free, with a way back into each.
import { api } from '../api/client';
import { Pager, useCursorPages } from '../components/paging';
import { AsyncView, Empty, useAsync } from '../components/ui';
import { formatDate } from '../format';
import { Link } from '../router';

export function MyCourses() {
  const pages = useCursorPages('');
  const [library, reload] = useAsync(
    (signal) => api.get('/api/users/me/courses', { signal, query: { limit: 20, cursor: pages.cursor } }),
    [pages.cursor],
  );
  return (
    <section>
      <h1>My learning</h1>
      <AsyncView value={library} what="your courses" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>
              You own no courses yet. <Link to="/courses">Browse the catalog</Link>
            </Empty>
          ) : (
            <>
              <table className="table" aria-label="Courses you own">
                <thead>
                  <tr>
                    <th>Course</th>
                    <th>Since</th>
                    <th>How</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((c) => (
                    <tr key={c.courseId} data-course={c.courseId}>
                      <td>
                        <Link to={`/courses/${encodeURIComponent(c.courseId)}`}>{c.title ?? 'A course no longer in the catalog'}</Link>
                      </td>
                      <td>{formatDate(c.enrolledAt)}</td>
                      <td>
                        {c.paymentId ? (
                          <Link to={`/payments/${encodeURIComponent(c.paymentId)}`}>Bought</Link>
                        ) : (
                          'Free'
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager pages={pages} nextCursor={page.nextCursor} />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}
