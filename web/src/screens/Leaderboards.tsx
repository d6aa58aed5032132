import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { AsyncView, Empty, ErrorMessage, Field, useAsync } from '../components/ui';
import { Board } from '../components/Board';
import { PrivacySettings } from './Tokens';
import { ClassesPanel } from './Classes';

type Period = 'all' | 'week';

export function Leaderboards() {
  const [period, setPeriod] = useState<Period>('week');
  const [global, reloadGlobal] = useAsync((signal) => api.get('/api/leaderboard/global', { signal, query: { period, limit: 20 } }), [period]);
  const [friends, reloadFriends] = useAsync((signal) => api.get('/api/leaderboard/friends', { signal, query: { period } }), [period]);
  const reload = () => {
    reloadGlobal();
    reloadFriends();
  };
  return (
    <section>
      <h1>Leaderboards</h1>
      <div role="tablist" aria-label="Period" className="tabs">
        {(['week', 'all'] as const).map((p) => (
          <button key={p} type="button" role="tab" aria-selected={period === p} className={period === p ? 'active' : 'secondary'} onClick={() => setPeriod(p)}>
            {p === 'week' ? 'This week' : 'All time'}
          </button>
        ))}
      </div>
      <div className="columns">
        <div>
          <h2>Everyone</h2>
          <AsyncView value={global} what="the board" retry={reloadGlobal}>
            {(b) => (
              <>
                <p className="notice" data-testid="my-rank">
                  {b.me.rank
                    ? `You are #${b.me.rank}${b.me.rankExact === false ? ' (approx.)' : ''} with ${b.me.score ?? 0} tokens.`
                    : b.me.percentileBand
                      ? `You are in the ${b.me.percentileBand}.`
                      : 'You have no score in this period yet.'}
                </p>
                <Board entries={b.entries} />
              </>
            )}
          </AsyncView>
        </div>
        <div>
          <h2>Friends</h2>
          <AsyncView value={friends} what="your friends' board" retry={reloadFriends}>
            {(b) => <Board entries={b.entries ?? []} />}
          </AsyncView>
          <Following onChanged={reloadFriends} />
        </div>
      </div>
      <ClassesPanel />
      <PrivacySettings onSaved={reload} />
    </section>
  );
}

/** Who the caller follows (with their consent): their friends board is them and these users. */
function Following({ onChanged }: { onChanged: () => void }) {
  const [friends, reload] = useAsync((signal) => api.get('/api/friends', { signal }), []);
  const [requests, reloadRequests] = useAsync((signal) => api.get('/api/friends/requests', { signal }), []);
  const [userId, setUserId] = useState('');
  const [error, setError] = useState<unknown>(null);
  const changed = () => {
    reload();
    reloadRequests();
    onChanged();
  };
  const answer = async (id: string, accept: boolean) => {
    setError(null);
    try {
      if (accept) {
        await api.post('/api/friends/requests/{userId}/accept', { params: { userId: id } });
      } else {
        await api.delete('/api/friends/requests/{userId}', { params: { userId: id } });
      }
      changed();
    } catch (err) {
      setError(err);
    }
  };
  const follow = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api.post('/api/friends', { body: { userId: userId.trim() } });
      setUserId('');
      changed();
    } catch (err) {
      setError(err);
    }
  };
  const unfollow = async (id: string) => {
    setError(null);
    try {
      await api.delete('/api/friends/{userId}', { params: { userId: id } });
      changed();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <form className="inline" onSubmit={follow} aria-label="Follow someone">
        <Field label="Follow a learner by user id">
          <input name="follow" value={userId} onChange={(e) => setUserId(e.target.value)} />
        </Field>
        <button type="submit" disabled={!userId.trim()}>
          Ask to follow
        </button>
      </form>
      <ErrorMessage error={error} />
      <AsyncView value={requests} what="follow requests" retry={reloadRequests}>
        {(r) =>
          !r.items?.length ? null : (
            <ul aria-label="Asking to follow you">
              {r.items.map((u) => (
                <li key={u.userId}>
                  {u.displayName} asks to follow you{' '}
                  <button type="button" className="link" onClick={() => answer(u.userId, true)}>
                    Accept
                  </button>{' '}
                  <button type="button" className="link" onClick={() => answer(u.userId, false)}>
                    Decline
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </AsyncView>
      <AsyncView value={friends} what="who you follow" retry={reload}>
        {(f) =>
          !f.items?.length ? (
            <Empty>You follow nobody yet.</Empty>
          ) : (
            <ul aria-label="Following">
              {f.items.map((u) => (
                <li key={u.userId}>
                  {u.displayName ?? u.userId}{' '}
                  <button type="button" className="link" onClick={() => u.userId && unfollow(u.userId)}>
                    Unfollow
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </AsyncView>
      <AsyncView value={friends} what="requests you sent" retry={reload}>
        {(f) =>
          !f.pending?.length ? null : (
            <ul aria-label="Waiting for consent">
              {f.pending.map((u) => (
                <li key={u.userId}>
                  {u.displayName} (waiting for them to accept){' '}
                  <button type="button" className="link" onClick={() => unfollow(u.userId)}>
                    Withdraw
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </AsyncView>
    </>
  );
}
