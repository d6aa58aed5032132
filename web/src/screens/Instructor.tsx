import { useState, type FormEvent } from 'react';
import { api, ApiError, type components } from '../api/client';
import { humanMessage } from '../api/errors';
import { AsyncView, Empty, Field, Loading, ErrorMessage, MoreButton, Notice, useAsync } from '../components/ui';
import { Chart } from '../components/Chart';
import { balancesOverTime, ledgerEntries } from '../earnings';
import { CURRENCIES, formatDate, formatMoney, fromMinorUnits, toMinorUnits } from '../format';
import { Link, navigate } from '../router';

type Course = components['schemas']['Course'];
type CourseInput = components['schemas']['CourseInput'];
type Category = CourseInput['category'];
type Level = CourseInput['level'];
type Currency = CourseInput['price']['currency'];

const CATEGORIES: Category[] = ['development', 'business', 'design', 'marketing', 'data-science', 'languages', 'music', 'personal-development'];
const LEVELS: Level[] = ['beginner', 'intermediate', 'advanced', 'all_levels'];

export function InstructorNav() {
  return (
    <nav className="subnav" aria-label="Teaching">
      <Link to="/instructor">My courses</Link>
      <Link to="/instructor/courses/new">New course</Link>
      <Link to="/instructor/earnings">Earnings</Link>
      <Link to="/instructor/payouts">Payouts</Link>
    </nav>
  );
}

export function InstructorCourses() {
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [courses, reload] = useAsync((signal) => api.get('/api/instructors/me/courses', { signal, query: { limit: 50, cursor } }), [cursor]);
  return (
    <section>
      <h1>My courses</h1>
      <InstructorNav />
      <AsyncView value={courses} what="your courses" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>
              You have no courses yet. <Link to="/instructor/courses/new">Create your first course</Link>
            </Empty>
          ) : (
            <>
              <table className="table" aria-label="My courses">
                <thead>
                  <tr>
                    <th>Title</th>
                    <th>Status</th>
                    <th className="num">Price</th>
                    <th className="num">Enrolled</th>
                    <th>Updated</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((c) => (
                    <tr key={c.courseId} data-course={c.courseId}>
                      <td>
                        <Link to={`/courses/${encodeURIComponent(c.courseId ?? '')}`}>{c.title}</Link>
                      </td>
                      <td>
                        <span className={`badge status-${c.status}`}>{c.status}</span>
                      </td>
                      <td className="num">{c.price ? formatMoney(c.price.amount, c.price.currency) : '—'}</td>
                      <td className="num">{c.enrollmentCount ?? 0}</td>
                      <td>{formatDate(c.updatedAt)}</td>
                      <td>
                        <Link to={`/instructor/courses/${encodeURIComponent(c.courseId ?? '')}`}>Edit</Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <MoreButton cursor={page.nextCursor} onMore={() => page.nextCursor && setCursor(page.nextCursor)} />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}

interface LessonForm {
  title: string;
  minutes: string;
  contentUrl: string;
}

interface CourseForm {
  title: string;
  subtitle: string;
  description: string;
  category: Category;
  level: Level;
  language: string;
  tags: string;
  price: string;
  currency: Currency;
  lessons: LessonForm[];
}

const EMPTY: CourseForm = {
  title: '',
  subtitle: '',
  description: '',
  category: 'development',
  level: 'beginner',
  language: 'en',
  tags: '',
  price: '19.99',
  currency: 'USD',
  lessons: [{ title: '', minutes: '10', contentUrl: 'https://' }],
};

function formOf(c: Course): CourseForm {
  const currency = (c.price?.currency ?? 'USD') as Currency;
  return {
    title: c.title ?? '',
    subtitle: c.subtitle ?? '',
    description: c.description ?? '',
    category: (c.category ?? 'development') as Category,
    level: (c.level ?? 'beginner') as Level,
    language: c.language ?? 'en',
    tags: (c.tags ?? []).join(', '),
    price: fromMinorUnits(c.price?.amount ?? 0, currency),
    currency,
    lessons: (c.lessons ?? []).map((l) => ({
      title: l.title ?? '',
      minutes: String(Math.round((l.durationSeconds ?? 60) / 60)),
      contentUrl: l.contentUrl ?? '',
    })),
  };
}

/** What the API validates is sent as typed; only shapes the API cannot read are checked here. */
function inputOf(form: CourseForm, courseId: string | undefined, publish: boolean): CourseInput {
  const tags = form.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return {
    courseId,
    title: form.title,
    subtitle: form.subtitle || undefined,
    description: form.description || undefined,
    category: form.category,
    level: form.level,
    language: form.language,
    tags,
    price: { amount: toMinorUnits(form.price, form.currency), currency: form.currency },
    lessons: form.lessons.map((l) => ({
      title: l.title,
      durationSeconds: Math.round(Number(l.minutes) * 60),
      contentUrl: l.contentUrl,
    })),
    publish,
  };
}

export function CourseEditor({ courseId }: { courseId?: string | undefined }) {
  const [existing, reload] = useAsync(
    (signal) => (courseId ? api.get('/api/courses/{courseId}', { signal, params: { courseId } }) : Promise.resolve(null)),
    [courseId],
  );
  return (
    <section>
      <h1>{courseId ? 'Edit course' : 'New course'}</h1>
      <InstructorNav />
      {existing.state === 'loading' ? (
        <Loading what="the course" />
      ) : existing.state === 'error' ? (
        <ErrorMessage error={existing.error} retry={reload} />
      ) : (
        <EditorForm key={courseId ?? 'new'} courseId={courseId} initial={existing.data ? formOf(existing.data) : EMPTY} status={existing.data?.status} />
      )}
    </section>
  );
}

const SAVED_MESSAGES: Record<string, string> = {
  published: 'Published: your course is in the catalog.',
  draft: 'Saved as a draft.',
};

function EditorForm({ courseId, initial, status }: { courseId: string | undefined; initial: CourseForm; status: string | undefined }) {
  const [form, setForm] = useState(initial);
  const [error, setError] = useState<unknown>(null);
  // A new course moves to its own address once saved; the message comes along.
  const [saved, setSaved] = useState<string | null>(() => SAVED_MESSAGES[new URLSearchParams(location.search).get('saved') ?? ''] ?? null);
  const [busy, setBusy] = useState(false);
  const issues = error instanceof ApiError ? error.issues : [];
  const errorFor = (field: string) => issues.filter((i) => i.field === field).map((i) => i.message ?? 'Invalid').join(' ') || undefined;
  const set = <K extends keyof CourseForm>(name: K, value: CourseForm[K]) => setForm((f) => ({ ...f, [name]: value }));
  const setLesson = (index: number, patch: Partial<LessonForm>) =>
    setForm((f) => ({ ...f, lessons: f.lessons.map((l, i) => (i === index ? { ...l, ...patch } : l)) }));

  const save = async (e: FormEvent, publish: boolean) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      const course = await api.post('/api/courses/upload', { body: inputOf(form, courseId, publish) });
      const outcome = course.status === 'published' ? 'published' : 'draft';
      setSaved(SAVED_MESSAGES[outcome]!);
      if (!courseId && course.courseId) navigate(`/instructor/courses/${encodeURIComponent(course.courseId)}?saved=${outcome}`, true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const known = new Set(['title', 'subtitle', 'description', 'category', 'level', 'language', 'tags', 'price', 'price.amount', 'price.currency']);
  const otherIssues = issues.filter((i) => !known.has(i.field) && !i.field.startsWith('lessons'));

  return (
    <form className="card editor" noValidate onSubmit={(e) => save(e, false)} aria-label="Course">
      {status && (
        <p>
          Status: <span className={`badge status-${status}`}>{status}</span>
        </p>
      )}
      {error !== null && (
        <div className="error" role="alert" data-code={error instanceof ApiError ? error.code : undefined}>
          {humanMessage(error)}
          {otherIssues.length > 0 && (
            <ul>
              {otherIssues.map((i) => (
                <li key={i.field}>
                  {i.field}: {i.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {saved && <Notice>{saved}</Notice>}
      <Field label="Title" error={errorFor('title')} hint="5–120 characters">
        <input name="title" value={form.title} onChange={(e) => set('title', e.target.value)} />
      </Field>
      <Field label="Subtitle" error={errorFor('subtitle')}>
        <input name="subtitle" value={form.subtitle} onChange={(e) => set('subtitle', e.target.value)} />
      </Field>
      <Field label="Description" error={errorFor('description')} hint="Needed to publish">
        <textarea name="description" value={form.description} onChange={(e) => set('description', e.target.value)} />
      </Field>
      <div className="row">
        <Field label="Category" error={errorFor('category')}>
          <select name="category" value={form.category} onChange={(e) => set('category', e.target.value as Category)}>
            {CATEGORIES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </Field>
        <Field label="Level" error={errorFor('level')}>
          <select name="level" value={form.level} onChange={(e) => set('level', e.target.value as Level)}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l.replace('_', ' ')}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Language" error={errorFor('language')} hint="ISO 639-1, e.g. en">
          <input name="language" value={form.language} onChange={(e) => set('language', e.target.value)} />
        </Field>
      </div>
      <div className="row">
        <Field label="Price" error={errorFor('price.amount') ?? errorFor('price')} hint="0 for a free course">
          <input name="price" inputMode="decimal" value={form.price} onChange={(e) => set('price', e.target.value)} />
        </Field>
        <Field label="Currency" error={errorFor('price.currency')}>
          <select name="currency" value={form.currency} onChange={(e) => set('currency', e.target.value as Currency)}>
            {CURRENCIES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </Field>
        <Field label="Tags" error={errorFor('tags')} hint="Comma-separated">
          <input name="tags" value={form.tags} onChange={(e) => set('tags', e.target.value)} />
        </Field>
      </div>
      <fieldset>
        <legend>Lessons</legend>
        {errorFor('lessons') && (
          <p className="field-error" role="alert">
            {errorFor('lessons')}
          </p>
        )}
        {form.lessons.map((l, i) => (
          <div className="row lesson" key={i} data-lesson={i}>
            <Field label={`Lesson ${i + 1} title`} error={errorFor(`lessons[${i}].title`)}>
              <input name={`lesson-${i}-title`} value={l.title} onChange={(e) => setLesson(i, { title: e.target.value })} />
            </Field>
            <Field label="Minutes" error={errorFor(`lessons[${i}].durationSeconds`)}>
              <input name={`lesson-${i}-minutes`} inputMode="numeric" value={l.minutes} onChange={(e) => setLesson(i, { minutes: e.target.value })} />
            </Field>
            <Field label="Video URL" error={errorFor(`lessons[${i}].contentUrl`)} hint="https only">
              <input name={`lesson-${i}-url`} value={l.contentUrl} onChange={(e) => setLesson(i, { contentUrl: e.target.value })} />
            </Field>
            <button type="button" className="link" onClick={() => set('lessons', form.lessons.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => set('lessons', [...form.lessons, { title: '', minutes: '10', contentUrl: 'https://' }])}>
          Add lesson
        </button>
      </fieldset>
      <div className="actions">
        <button type="submit" className="secondary" disabled={busy}>
          Save draft
        </button>
        <button type="button" disabled={busy} onClick={(e) => save(e, true)}>
          {busy ? 'Saving…' : 'Publish'}
        </button>
      </div>
    </form>
  );
}

export function InstructorEarnings() {
  const [earnings, reload] = useAsync((signal) => api.get('/api/instructors/me/earnings', { signal, query: { limit: 50 } }), []);
  return (
    <section>
      <h1>Earnings</h1>
      <InstructorNav />
      <AsyncView value={earnings} what="your earnings" retry={reload}>
        {(e) =>
          e.balances.length === 0 ? (
            <Empty>No sales yet. You earn 70% of each sale; it becomes available after the refund window.</Empty>
          ) : (
            <>
              <table className="table" aria-label="Balances">
                <thead>
                  <tr>
                    <th>Currency</th>
                    <th className="num">Pending</th>
                    <th className="num">Available</th>
                    <th className="num">Paid out</th>
                    <th className="num">Reversed</th>
                  </tr>
                </thead>
                <tbody>
                  {e.balances.map((b, i) => {
                    const row = b as Record<string, unknown>;
                    const currency = String(row.currency ?? 'USD');
                    const money = (k: string) => formatMoney(Number(row[k] ?? 0), currency);
                    return (
                      <tr key={i}>
                        <td>{currency}</td>
                        <td className="num">{money('pending')}</td>
                        <td className="num">{money('available')}</td>
                        <td className="num">{money('paidOut')}</td>
                        <td className="num">{money('reversed')}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <EarningsCharts currencies={e.balances.map((b) => String((b as Record<string, unknown>).currency ?? 'USD'))} />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}

/** The whole ledger (at most 1,000 entries, newest first from the API) as one chart per currency. */
function EarningsCharts({ currencies }: { currencies: string[] }) {
  const [ledger, reload] = useAsync(async (signal) => {
    const entries: object[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const p = await api.get('/api/instructors/me/earnings', { signal, query: { limit: 100, cursor } });
      entries.push(...p.entries);
      if (!p.nextCursor) break;
      cursor = p.nextCursor;
    }
    return ledgerEntries(entries);
  }, []);
  const day = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
  return (
    <AsyncView value={ledger} what="your earnings over time" retry={reload}>
      {(entries) => (
        <>
          {currencies.map((currency) => {
            const points = balancesOverTime(entries, currency, new Date());
            if (points.length === 0) return null;
            return (
              <Chart
                key={currency}
                kind="line"
                testId={`earnings-chart-${currency}`}
                title={`Your ${currency} earnings over time`}
                labels={points.map((p) => day.format(p.at))}
                format={(v) => formatMoney(v, currency)}
                series={[
                  { label: 'Pending', color: '#b35c00', values: points.map((p) => p.pending) },
                  { label: 'Available', color: '#1c7c3c', values: points.map((p) => p.available) },
                  { label: 'Paid out', color: '#1f5fbf', values: points.map((p) => p.paidOut) },
                ]}
              />
            );
          })}
        </>
      )}
    </AsyncView>
  );
}
