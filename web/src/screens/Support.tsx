// Support tickets: an organisation files and follows its tickets as conversations; support staff
// (admins) work the queue, oldest first, and answer on the same ticket page.
import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey } from '../api/client';
import { Pager, useCursorPages } from '../components/paging';
import { AsyncView, Empty, ErrorMessage, Field, useAsync } from '../components/ui';
import { formatDate } from '../format';
import { Link, navigate } from '../router';
import { hasRole, useSession } from '../session';
import { AdminNav } from './Admin';

type Status = 'open' | 'pending_customer' | 'resolved' | 'closed';

/** Statuses in the words of the side reading them: the organisation, or support staff. */
const STATUS_LABELS: Record<string, string> = {
  open: 'Waiting for support',
  pending_customer: 'Waiting for you',
  resolved: 'Resolved',
  closed: 'Closed',
};
const STAFF_STATUS_LABELS: Record<string, string> = { ...STATUS_LABELS, pending_customer: 'Waiting for the customer' };

function ticketLink(id: string) {
  return `/support/${encodeURIComponent(id)}`;
}

/** The caller's organisation's tickets, and a form to file one. */
export function SupportTickets() {
  const pages = useCursorPages('');
  const [tickets, reload] = useAsync(
    (signal) => api.get('/api/enterprise/support/tickets', { signal, query: { limit: 20, cursor: pages.cursor } }),
    [pages.cursor],
  );
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [priority, setPriority] = useState<'low' | 'normal' | 'high' | 'urgent'>('normal');
  const [error, setError] = useState<unknown>(null);
  const file = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const ticket = await api.post('/api/enterprise/support/tickets', {
        idempotencyKey: newIdempotencyKey('ticket'),
        body: { subject: subject.trim(), body: body.trim(), priority },
      });
      navigate(ticketLink(ticket.ticketId));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Support</h1>
      <form className="card" onSubmit={file} aria-label="File a ticket">
        <Field label="Subject">
          <input name="subject" value={subject} onChange={(e) => setSubject(e.target.value)} maxLength={200} />
        </Field>
        <Field label="What happened?">
          <textarea name="body" value={body} onChange={(e) => setBody(e.target.value)} rows={4} />
        </Field>
        <Field label="Priority">
          <select name="priority" value={priority} onChange={(e) => setPriority(e.target.value as typeof priority)}>
            <option value="low">Low</option>
            <option value="normal">Normal</option>
            <option value="high">High</option>
            <option value="urgent">Urgent</option>
          </select>
        </Field>
        <button type="submit" disabled={!subject.trim() || !body.trim()}>
          File ticket
        </button>
        <ErrorMessage error={error} />
      </form>
      <h2>Your organisation's tickets</h2>
      <AsyncView value={tickets} what="tickets" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No tickets yet.</Empty>
          ) : (
            <>
              <ul aria-label="Tickets">
                {page.items.map((t) => (
                  <li key={t.ticketId} data-ticket={t.ticketId} data-status={t.status}>
                    <Link to={ticketLink(t.ticketId)}>{t.subject}</Link>{' '}
                    <span className={`badge ticket-${t.status}`}>{STATUS_LABELS[t.status] ?? t.status}</span> filed{' '}
                    {formatDate(t.createdAt)}
                  </li>
                ))}
              </ul>
              <Pager pages={pages} nextCursor={page.nextCursor} />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}

/**
 * One ticket's conversation, with a reply form and the moves the caller may make: either side
 * resolves or closes; support staff also park an open ticket on the customer. A reply reopens a
 * resolved ticket (the API decides; this page shows the status it answers).
 */
export function SupportTicket({ ticketId }: { ticketId: string }) {
  const staff = hasRole(useSession(), 'admin');
  const labels = staff ? STAFF_STATUS_LABELS : STATUS_LABELS;
  const [ticket, reload] = useAsync(
    (signal) => api.get('/api/enterprise/support/tickets/{ticketId}', { signal, params: { ticketId } }),
    [ticketId],
  );
  const [reply, setReply] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await api.post('/api/enterprise/support/tickets/{ticketId}/replies', {
        params: { ticketId },
        idempotencyKey: newIdempotencyKey('reply'),
        body: { body: reply.trim() },
      });
      setReply('');
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const move = async (status: Status) => {
    setError(null);
    setBusy(true);
    try {
      await api.post('/api/enterprise/support/tickets/{ticketId}/status', { params: { ticketId }, body: { status } });
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <AsyncView value={ticket} what="the ticket" retry={reload}>
      {(t) => (
        <section>
          <p>
            {staff ? <Link to="/admin/support">← Support queue</Link> : <Link to="/support">← All tickets</Link>}
          </p>
          <h1>{t.subject}</h1>
          <p>
            <span className={`badge ticket-${t.status}`} data-testid="ticket-status" data-status={t.status}>
              {labels[t.status] ?? t.status}
            </span>{' '}
            Filed {formatDate(t.createdAt)} by {t.createdBy}
            {staff ? ` (${t.orgId})` : ''}, priority {t.priority}.
          </p>
          <ol className="conversation" aria-label="Conversation">
            <li>
              <strong>{staff ? `Customer (${t.orgId})` : 'Your organisation'}</strong>, {formatDate(t.createdAt)}
              <p>{t.body}</p>
            </li>
            {(t.replies ?? []).map((r) => (
              <li key={r.replyId} className={r.fromSupport ? 'from-support' : undefined} data-from-support={r.fromSupport}>
                <strong>{r.fromSupport ? 'Azora support' : staff ? `Customer (${t.orgId})` : 'Your organisation'}</strong>,{' '}
                {formatDate(r.createdAt)}
                <p>{r.body}</p>
              </li>
            ))}
          </ol>
          <ErrorMessage error={error} />
          {t.status === 'closed' ? (
            <Empty>
              This ticket is closed.{staff ? '' : ' File a new one if you need more help.'}
            </Empty>
          ) : (
            <>
              <form className="card" onSubmit={send} aria-label="Reply">
                <Field label={staff ? 'Reply to the customer' : 'Your reply'}>
                  <textarea name="reply" value={reply} onChange={(e) => setReply(e.target.value)} rows={3} />
                </Field>
                <button type="submit" disabled={busy || !reply.trim()}>
                  Send reply
                </button>
              </form>
              <div className="actions">
                {staff && t.status === 'open' && (
                  <button type="button" className="secondary" disabled={busy} onClick={() => move('pending_customer')}>
                    Wait for the customer
                  </button>
                )}
                {t.status !== 'resolved' && (
                  <button type="button" className="secondary" disabled={busy} onClick={() => move('resolved')}>
                    Mark resolved
                  </button>
                )}
                <button type="button" className="secondary" disabled={busy} onClick={() => move('closed')}>
                  Close ticket
                </button>
              </div>
            </>
          )}
        </section>
      )}
    </AsyncView>
  );
}

/** Support staff: tickets waiting for support, oldest first. */
export function SupportQueue() {
  const pages = useCursorPages('');
  const [queue, reload] = useAsync(
    (signal) => api.get('/api/admin/support/tickets', { signal, query: { limit: 20, cursor: pages.cursor } }),
    [pages.cursor],
  );
  return (
    <section>
      <h1>Support queue</h1>
      <AdminNav />
      <p>Tickets waiting for support, the longest waiting first. A reply moves a ticket to the customer.</p>
      <AsyncView value={queue} what="the support queue" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>Nobody is waiting for support.</Empty>
          ) : (
            <>
              <ol aria-label="Waiting for support">
                {page.items.map((t) => (
                  <li key={t.ticketId} data-ticket={t.ticketId}>
                    <Link to={ticketLink(t.ticketId)}>{t.subject}</Link> — {t.orgId},{' '}
                    <span className={`badge priority-${t.priority}`}>{t.priority}</span> waiting since {formatDate(t.createdAt)}
                  </li>
                ))}
              </ol>
              <Pager pages={pages} nextCursor={page.nextCursor} />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}
