// A leaderboard's entries as the API answers them: users who hide are "Anonymous learner" (never
// their user id), and the caller's own row is marked.
import type { components } from '../api/client';
import { Empty } from './ui';

type BoardEntry = components['schemas']['BoardEntry'];

export function Board({ entries }: { entries: BoardEntry[] }) {
  if (entries.length === 0) return <Empty>Nobody has earned tokens in this period yet.</Empty>;
  return (
    <ol className="board">
      {entries.map((e, i) => (
        <li
          key={`${e.rank}-${i}`}
          className={e.isMe ? 'me' : undefined}
          data-me={e.isMe ? 'true' : undefined}
          data-anonymous={e.anonymous ? 'true' : undefined}
        >
          <span className="rank">#{e.rank}</span> <span>{e.displayName}</span>
          {e.isMe && <span className="badge">you</span>} <strong className="num">{e.score}</strong>
        </li>
      ))}
    </ol>
  );
}
