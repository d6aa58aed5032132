// An instructor's pending / available / paid-out balances over time, rebuilt from the earnings
// ledger (GET /api/instructors/me/earnings `entries`): a sale is pending until it is released
// after the refund window, then available; a refund counts in its sale's bucket; a payout moves
// available to paid out (in transit included); a payout reversal takes it back off paid out.

export interface LedgerEntry {
  kind: string;
  amount: number;
  currency: string;
  at: string;
  availableOn?: string | null;
  released?: boolean;
  paymentId?: string | null;
  courseId?: string | null;
}

export interface Point {
  at: Date;
  pending: number;
  available: number;
  paidOut: number;
}

/** Reads the API's untyped ledger objects, skipping any that lack the fields used here. */
export function ledgerEntries(raw: object[]): LedgerEntry[] {
  return raw.flatMap((e) => {
    const r = e as Record<string, unknown>;
    if (typeof r.kind !== 'string' || typeof r.amount !== 'number' || typeof r.currency !== 'string' || typeof r.at !== 'string') {
      return [];
    }
    return [
      {
        kind: r.kind,
        amount: r.amount,
        currency: r.currency,
        at: r.at,
        availableOn: typeof r.availableOn === 'string' ? r.availableOn : null,
        released: r.released === true,
        paymentId: typeof r.paymentId === 'string' ? r.paymentId : null,
        courseId: typeof r.courseId === 'string' ? r.courseId : null,
      },
    ];
  });
}

const DAY = 86_400_000;

/** The balances at ~60 sample times at most, from the day before the first entry to `now` (the last point). */
export function balancesOverTime(all: LedgerEntry[], currency: string, now: Date): Point[] {
  const entries = all.filter((e) => e.currency === currency).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  if (entries.length === 0) return [];
  const sales = new Map<string, LedgerEntry>();
  for (const e of entries) if (e.kind === 'sale') sales.set(`${e.paymentId}|${e.courseId}`, e);
  const availableAt = (sale: LedgerEntry | undefined, t: number) =>
    !!sale && !!sale.released && !!sale.availableOn && Date.parse(sale.availableOn) <= t;

  const first = new Date(entries[0]!.at);
  const start = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate()) + DAY - 1;
  const days = Math.max(0, Math.ceil((now.getTime() - start) / DAY));
  const step = Math.max(1, Math.ceil(days / 60));
  // From a day (or step) before the first entry, when everything was zero.
  const times: number[] = [start - step * DAY];
  for (let t = start; t < now.getTime(); t += step * DAY) times.push(t);
  times.push(now.getTime());

  return times.map((t) => {
    const p: Point = { at: new Date(t), pending: 0, available: 0, paidOut: 0 };
    for (const e of entries) {
      if (Date.parse(e.at) > t) break;
      if (e.kind === 'sale') {
        if (availableAt(e, t)) p.available += e.amount;
        else p.pending += e.amount;
      } else if (e.kind === 'refund' || e.kind === 'refund_undone') {
        if (availableAt(sales.get(`${e.paymentId}|${e.courseId}`), t)) p.available += e.amount;
        else p.pending += e.amount;
      } else if (e.kind === 'payout') {
        p.available += e.amount;
        p.paidOut -= e.amount;
      } else if (e.kind === 'payout_reversal') {
        p.paidOut += e.amount;
      }
    }
    return p;
  });
}
