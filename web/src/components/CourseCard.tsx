import type { components } from '../api/client';
import { Link } from '../router';
import { formatDuration, formatMoney } from '../format';

type Course = components['schemas']['Course'];

export function Price({ price }: { price: Course['price'] | undefined }) {
  if (!price) return null;
  return <span className="price">{price.amount === 0 ? 'Free' : formatMoney(price.amount, price.currency)}</span>;
}

export function Rating({ rating }: { rating: Course['rating'] }) {
  if (!rating?.count) return <span className="rating muted">No reviews yet</span>;
  return (
    <span className="rating" aria-label={`Rated ${rating.average} out of 5 by ${rating.count}`}>
      ★ {rating.average?.toFixed(1)} ({rating.count})
    </span>
  );
}

export function CourseCard({ course }: { course: Course }) {
  return (
    <article className="course-card" data-course={course.courseId}>
      <h3>
        <Link to={`/courses/${encodeURIComponent(course.courseId ?? '')}`}>{course.title}</Link>
      </h3>
      {course.subtitle && <p className="muted">{course.subtitle}</p>}
      <p className="meta">
        <span>{course.category}</span> · <span>{course.level?.replace('_', ' ')}</span> ·{' '}
        <span>{course.language?.toUpperCase()}</span>
        {course.lessonCount !== undefined && (
          <>
            {' '}
            · {course.lessonCount} lessons, {formatDuration(course.totalDurationSeconds ?? 0)}
          </>
        )}
      </p>
      <p className="meta">
        <Rating rating={course.rating} /> <Price price={course.price} />
      </p>
    </article>
  );
}
