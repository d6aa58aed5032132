import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey } from '../api/client';
import { cart, useCart } from '../cart';
import { Price, Rating } from '../components/CourseCard';
import { AsyncView, Empty, ErrorMessage, Field, MoreButton, Notice, useAsync } from '../components/ui';
import { formatDate, formatDuration } from '../format';
import { Link, navigate } from '../router';
import { useSession } from '../session';

export function CourseDetail({ courseId }: { courseId: string }) {
  const session = useSession();
  const [course, reloadCourse] = useAsync((signal) => api.get('/api/courses/{courseId}', { signal, params: { courseId } }), [
    courseId,
    session?.token,
  ]);
  const [access, reloadAccess] = useAsync(
    (signal) =>
      session
        ? api.get('/api/courses/{courseId}/access', { signal, params: { courseId } })
        : Promise.resolve({ courseId, owned: false, isInstructor: false, access: false }),
    [courseId, session?.token],
  );
  const reload = () => {
    reloadCourse();
    reloadAccess();
  };

  return (
    <AsyncView value={course} what="the course" retry={reloadCourse}>
      {(c) => {
        const has = access.state === 'ready' && access.data.access;
        return (
          <section>
            <p>
              <Link to="/courses">← Catalog</Link>
            </p>
            <h1>{c.title}</h1>
            {c.subtitle && <p className="lead">{c.subtitle}</p>}
            <p className="meta">
              <Rating rating={c.rating} /> · {c.enrollmentCount ?? 0} enrolled · by {c.instructorId} · {c.category} ·{' '}
              {c.level?.replace('_', ' ')} · {c.language?.toUpperCase()}
              {c.status !== 'published' && <span className="badge">{c.status}</span>}
            </p>
            <div className="buy-box">
              <Price price={c.price} />
              {access.state === 'ready' && (
                <PurchaseActions course={c} owned={access.data.owned} isInstructor={access.data.isInstructor} onEnrolled={reload} />
              )}
              {access.state === 'error' && <ErrorMessage error={access.error} retry={reloadAccess} />}
            </div>
            {c.description && <p className="description">{c.description}</p>}
            <h2>Lessons</h2>
            {!c.lessons?.length ? (
              <Empty>No lessons yet.</Empty>
            ) : (
              <ol className="lessons" aria-label="Lessons">
                {c.lessons.map((l, i) => (
                  <li key={i} className={l.contentUrl ? 'unlocked' : 'locked'} data-state={l.contentUrl ? 'unlocked' : 'locked'}>
                    <span aria-hidden="true">{l.contentUrl ? '▶' : '🔒'}</span>{' '}
                    {l.contentUrl ? (
                      <a href={l.contentUrl} target="_blank" rel="noreferrer">
                        {l.title}
                      </a>
                    ) : (
                      <span>{l.title}</span>
                    )}{' '}
                    <span className="muted">{formatDuration(l.durationSeconds ?? 0)}</span>
                    {!l.contentUrl && <span className="sr-only"> (locked)</span>}
                  </li>
                ))}
              </ol>
            )}
            {has && <p className="notice">You have access to every lesson of this course.</p>}
            <Reviews courseId={courseId} canReview={!!session && has && !(access.state === 'ready' && access.data.isInstructor)} />
          </section>
        );
      }}
    </AsyncView>
  );
}

type CourseData = Awaited<ReturnType<typeof api.get<'/api/courses/{courseId}'>>>;

function PurchaseActions({
  course,
  owned,
  isInstructor,
  onEnrolled,
}: {
  course: CourseData;
  owned: boolean;
  isInstructor: boolean;
  onEnrolled: () => void;
}) {
  const session = useSession();
  const items = useCart();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (isInstructor) return <span className="badge">Your course</span>;
  if (owned) return <span className="badge ok">Enrolled</span>;
  if (!session) {
    return (
      <Link to={`/signin?next=${encodeURIComponent(`/courses/${course.courseId}`)}`} className="button">
        Sign in to buy
      </Link>
    );
  }
  if (course.price?.amount === 0) {
    const enroll = async () => {
      setBusy(true);
      setError(null);
      try {
        await api.post('/api/courses/purchase', {
          body: { courseId: course.courseId ?? '' },
          idempotencyKey: newIdempotencyKey('enroll'),
        });
        onEnrolled();
      } catch (e) {
        setError(e);
      } finally {
        setBusy(false);
      }
    };
    return (
      <>
        <button type="button" onClick={enroll} disabled={busy}>
          Enroll for free
        </button>
        <ErrorMessage error={error} />
      </>
    );
  }
  const inCart = items.some((i) => i.courseId === course.courseId);
  const add = () =>
    cart.add({
      courseId: course.courseId ?? '',
      title: course.title ?? '',
      amount: course.price?.amount ?? 0,
      currency: course.price?.currency ?? 'USD',
    });
  return (
    <>
      <button
        type="button"
        onClick={() => {
          add();
          navigate('/checkout');
        }}
      >
        Buy now
      </button>
      <button type="button" className="secondary" onClick={add} disabled={inCart}>
        {inCart ? 'In your cart' : 'Add to cart'}
      </button>
    </>
  );
}

function Reviews({ courseId, canReview }: { courseId: string; canReview: boolean }) {
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [reviews, reload] = useAsync(
    (signal) => api.get('/api/courses/{courseId}/reviews', { signal, params: { courseId }, query: { limit: 10, cursor } }),
    [courseId, cursor],
  );
  return (
    <>
      <h2>Reviews</h2>
      {canReview && <ReviewForm courseId={courseId} onSaved={() => (cursor ? setCursor(undefined) : reload())} />}
      <AsyncView value={reviews} what="reviews" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No reviews yet.</Empty>
          ) : (
            <>
              <ul className="reviews">
                {page.items.map((r) => (
                  <li key={r.userId}>
                    <strong>{'★'.repeat(r.rating)}</strong> <span className="muted">{r.userId}, {formatDate(r.updatedAt)}</span>
                    {r.text && <p>{r.text}</p>}
                  </li>
                ))}
              </ul>
              <MoreButton cursor={page.nextCursor} onMore={() => page.nextCursor && setCursor(page.nextCursor)} />
            </>
          )
        }
      </AsyncView>
    </>
  );
}

function ReviewForm({ courseId, onSaved }: { courseId: string; onSaved: () => void }) {
  const [rating, setRating] = useState(5);
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api.post('/api/courses/{courseId}/reviews', { params: { courseId }, body: { rating, text: text || undefined } });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Your review">
      <Field label="Rating">
        <select value={rating} onChange={(e) => setRating(Number(e.target.value))}>
          {[5, 4, 3, 2, 1].map((r) => (
            <option key={r} value={r}>
              {r} ★
            </option>
          ))}
        </select>
      </Field>
      <Field label="Review">
        <textarea value={text} maxLength={5000} onChange={(e) => setText(e.target.value)} />
      </Field>
      <ErrorMessage error={error} />
      {saved && <Notice>Thanks, your review is saved.</Notice>}
      <button type="submit">Save review</button>
    </form>
  );
}
