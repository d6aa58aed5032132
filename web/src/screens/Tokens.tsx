import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey, type components } from '../api/client';
import { AsyncView, Empty, ErrorMessage, Field, MoreButton, Notice, useAsync } from '../components/ui';
import { formatDate, formatMoney } from '../format';

type Reward = components['schemas']['Reward'];
type Entry = components['schemas']['LedgerEntry'];

export function Tokens() {
  const [balance, reloadBalance] = useAsync((signal) => api.get('/api/tokens/balance', { signal }), []);
  const [historyVersion, setHistoryVersion] = useState(0);
  const changed = () => {
    reloadBalance();
    setHistoryVersion((v) => v + 1);
  };
  return (
    <section>
      <h1>Tokens</h1>
      <AsyncView value={balance} what="your wallet" retry={reloadBalance}>
        {(b) => (
          <>
            <div className="stats" aria-label="Wallet">
              <Stat label="Balance" value={b.balance.toLocaleString()} testId="balance" />
              <Stat label="Earned this week" value={(b.earnedThisWeek ?? 0).toLocaleString()} />
              <Stat label="Lifetime earned" value={b.lifetimeEarned.toLocaleString()} />
              <Stat label="Lifetime redeemed" value={b.lifetimeRedeemed.toLocaleString()} />
              <Stat label="Streak" value={`${b.currentStreak} days (best ${b.longestStreak})`} />
            </div>
            {b.proCreditUntil && <Notice>Pro features until {formatDate(b.proCreditUntil)} (bought with tokens).</Notice>}
            <h2>Your vouchers</h2>
            {!b.vouchers?.length ? (
              <Empty>No vouchers. Redeem tokens for one below; use it at checkout.</Empty>
            ) : (
              <ul>
                {b.vouchers.map((v) => (
                  <li key={v.voucherId}>
                    {v.discount && formatMoney(v.discount.amount, v.discount.currency)} off one course purchase ·{' '}
                    <code>{v.voucherId}</code> · {v.status}
                  </li>
                ))}
              </ul>
            )}
            <Rewards balance={b.balance} onRedeemed={changed} />
          </>
        )}
      </AsyncView>
      <History key={historyVersion} />
    </section>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="stat">
      <span className="label">{label}</span>
      <strong data-testid={testId}>{value}</strong>
    </div>
  );
}

function Rewards({ balance, onRedeemed }: { balance: number; onRedeemed: () => void }) {
  const [rewards, reload] = useAsync((signal) => api.get('/api/tokens/rewards', { signal }), []);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const redeem = async (reward: Reward) => {
    setBusy(reward.id);
    setError(null);
    setDone(null);
    try {
      const r = await api.post('/api/tokens/redeem', { idempotencyKey: newIdempotencyKey('redeem'), body: { rewardId: reward.id } });
      setDone(`Redeemed ${reward.title}. Balance: ${r.balance.toLocaleString()} tokens.`);
      onRedeemed();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <h2>Rewards</h2>
      <ErrorMessage error={error} />
      {done && <Notice>{done}</Notice>}
      <AsyncView value={rewards} what="rewards" retry={reload}>
        {(r) =>
          !r.items?.length ? (
            <Empty>No rewards are offered right now.</Empty>
          ) : (
            <ul className="rewards">
              {r.items.map((reward) => (
                <li key={reward.id} className="card">
                  <strong>{reward.title}</strong>
                  <span>
                    {reward.cost.toLocaleString()} tokens
                    {reward.discount && ` · ${formatMoney(reward.discount.amount, reward.discount.currency)} off`}
                    {reward.days && ` · ${reward.days} days of Pro`}
                  </span>
                  <button
                    type="button"
                    onClick={() => redeem(reward)}
                    disabled={busy !== null || balance < reward.cost}
                    title={balance < reward.cost ? 'Not enough tokens' : undefined}
                  >
                    {busy === reward.id ? 'Redeeming…' : 'Redeem'}
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

function History() {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [page, reload] = useAsync(async (signal) => {
    const p = await api.get('/api/tokens/history', { signal, query: { limit: 20, cursor } });
    setEntries((prev) => (cursor ? [...prev, ...p.items] : p.items));
    return p;
  }, [cursor]);
  return (
    <>
      <h2>History</h2>
      {page.state === 'error' && <ErrorMessage error={page.error} retry={reload} />}
      {page.state === 'ready' && entries.length === 0 && <Empty>No token activity yet. Complete a course to earn tokens.</Empty>}
      {entries.length > 0 && (
        <table className="table" aria-label="Token history">
          <thead>
            <tr>
              <th>Date</th>
              <th>What</th>
              <th className="num">Change</th>
              <th className="num">Balance</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>{formatDate(e.createdAt)}</td>
                <td>
                  {e.kind} · {e.reason.replace(/_/g, ' ')}
                </td>
                <td className="num">{e.delta > 0 ? `+${e.delta}` : e.delta}</td>
                <td className="num">{e.balanceAfter}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.state === 'loading' ? (
        <p className="loading">Loading history…</p>
      ) : (
        page.state === 'ready' && <MoreButton cursor={page.data.nextCursor} onMore={() => page.data.nextCursor && setCursor(page.data.nextCursor)} />
      )}
    </>
  );
}

export function PrivacySettings({ onSaved }: { onSaved: () => void }) {
  const [hide, setHide] = useState(false);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await api.put('/api/users/me/privacy', { body: { hideFromLeaderboards: hide, displayName: name.trim() || undefined } });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Leaderboard privacy">
      <h2>Privacy</h2>
      <Field label="Display name" hint="Shown on boards instead of your user id">
        <input value={name} maxLength={40} onChange={(e) => setName(e.target.value)} />
      </Field>
      <label className="radio">
        <input type="checkbox" checked={hide} onChange={(e) => setHide(e.target.checked)} /> Hide me on global boards (shown as
        “Anonymous learner”)
      </label>
      <ErrorMessage error={error} />
      {saved && <Notice>Saved.</Notice>}
      <button type="submit">Save</button>
    </form>
  );
}
