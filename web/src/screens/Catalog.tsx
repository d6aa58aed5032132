import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { CourseCard } from '../components/CourseCard';
import { Pager, useCursorPages } from '../components/paging';
import { AsyncView, Empty, useAsync } from '../components/ui';
import { navigate } from '../router';

const CATEGORIES = ['development', 'business', 'design', 'marketing', 'data-science', 'languages', 'music', 'personal-development'] as const;
const LEVELS = ['beginner', 'intermediate', 'advanced', 'all_levels'] as const;
const SORTS = [
  ['newest', 'Newest'],
  ['popular', 'Most popular'],
  ['rating', 'Highest rated'],
  ['price_asc', 'Price: low to high'],
  ['price_desc', 'Price: high to low'],
] as const;
type Sort = (typeof SORTS)[number][0];
type Level = (typeof LEVELS)[number];
type Category = (typeof CATEGORIES)[number];
const FILTERS = ['q', 'category', 'level', 'language', 'minRating', 'maxPrice', 'sort'] as const;

export function Catalog({ query }: { query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const key = FILTERS.map((f) => filters[f]).join('|');
  const pages = useCursorPages(key);
  const [courses, reload] = useAsync(
    (signal) =>
      api.get('/api/courses/list', {
        signal,
        query: {
          q: filters.q || undefined,
          category: (filters.category || undefined) as Category | undefined,
          level: (filters.level || undefined) as Level | undefined,
          language: filters.language || undefined,
          minRating: filters.minRating ? Number(filters.minRating) : undefined,
          // The filter is in minor units; the form asks in whole units of the course's currency.
          maxPrice: filters.maxPrice ? Math.round(Number(filters.maxPrice) * 100) : undefined,
          sort: (filters.sort || 'newest') as Sort,
          limit: 12,
          cursor: pages.cursor,
        },
      }),
    [key, pages.cursor],
  );

  return (
    <section>
      <h1>Courses</h1>
      <CatalogFilters key={key} initial={filters} />
      <AsyncView value={courses} what="courses" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No courses match these filters.</Empty>
          ) : (
            <>
              <div className="grid" aria-label="Courses">
                {page.items.map((c) => (
                  <CourseCard key={c.courseId} course={c} />
                ))}
              </div>
              <Pager pages={pages} nextCursor={page.nextCursor} />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}

function CatalogFilters({ initial }: { initial: Record<(typeof FILTERS)[number], string> }) {
  const [form, setForm] = useState(initial);
  const set = (name: (typeof FILTERS)[number]) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [name]: e.target.value }));
  const apply = (e?: FormEvent, over?: Partial<typeof form>) => {
    e?.preventDefault();
    const next = { ...form, ...over };
    const q = new URLSearchParams();
    for (const f of FILTERS) if (next[f]) q.set(f, next[f]);
    navigate(`/courses${q.toString() ? `?${q}` : ''}`);
  };
  return (
    <form className="filters" onSubmit={apply} role="search" aria-label="Filter courses">
      <input type="search" name="q" placeholder="Search titles" value={form.q} onChange={set('q')} aria-label="Search titles" />
      <select aria-label="Category" value={form.category} onChange={set('category')}>
        <option value="">Any category</option>
        {CATEGORIES.map((c) => (
          <option key={c} value={c}>
            {c.replace('-', ' ')}
          </option>
        ))}
      </select>
      <select aria-label="Level" value={form.level} onChange={set('level')}>
        <option value="">Any level</option>
        {LEVELS.map((l) => (
          <option key={l} value={l}>
            {l.replace('_', ' ')}
          </option>
        ))}
      </select>
      <select aria-label="Language" value={form.language} onChange={set('language')}>
        <option value="">Any language</option>
        <option value="en">English</option>
        <option value="es">Spanish</option>
        <option value="fr">French</option>
        <option value="de">German</option>
      </select>
      <select aria-label="Minimum rating" value={form.minRating} onChange={set('minRating')}>
        <option value="">Any rating</option>
        {[4, 3, 2].map((r) => (
          <option key={r} value={r}>
            {r}★ and up
          </option>
        ))}
      </select>
      <input
        type="number"
        min="0"
        step="1"
        aria-label="Maximum price"
        placeholder="Max price"
        value={form.maxPrice}
        onChange={set('maxPrice')}
      />
      <select
        aria-label="Sort"
        value={form.sort || 'newest'}
        onChange={(e) => {
          setForm((f) => ({ ...f, sort: e.target.value }));
          apply(undefined, { sort: e.target.value });
        }}
      >
        {SORTS.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <button type="submit">Apply</button>
    </form>
  );
}
