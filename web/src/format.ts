// Money is integer minor units plus an ISO currency; Intl knows each currency's exponent
// (JPY has none, USD two), so amounts are never assumed to be cents.
const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string): Intl.NumberFormat {
  let f = formatters.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    formatters.set(currency, f);
  }
  return f;
}

export function minorUnitExponent(currency: string): number {
  return formatter(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

export function formatMoney(amount: number, currency: string): string {
  return formatter(currency).format(amount / 10 ** minorUnitExponent(currency));
}

/** Parses "19.99" in the currency's units to minor units; NaN when it is not a number. */
export function toMinorUnits(text: string, currency: string): number {
  const value = Number(text.trim().replace(',', '.'));
  if (!text.trim() || !Number.isFinite(value)) return NaN;
  return Math.round(value * 10 ** minorUnitExponent(currency));
}

export function fromMinorUnits(amount: number, currency: string): string {
  const exp = minorUnitExponent(currency);
  return (amount / 10 ** exp).toFixed(exp);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function formatDuration(seconds: number): string {
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'INR', 'BRL', 'JPY'] as const;
