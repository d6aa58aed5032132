// The cart: courses picked for one checkout, kept in this browser only. Prices shown here are
// the catalog's; the API prices the order itself when it is paid.
import { useSyncExternalStore } from 'react';

export interface CartItem {
  courseId: string;
  title: string;
  amount: number;
  currency: string;
}

const KEY = 'azora.cart';
const listeners = new Set<() => void>();
let items: CartItem[] = read();

function read(): CartItem[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(parsed) ? (parsed as CartItem[]) : [];
  } catch {
    return [];
  }
}

function write(next: CartItem[]) {
  items = next;
  localStorage.setItem(KEY, JSON.stringify(items));
  listeners.forEach((l) => l());
}

export const cart = {
  add(item: CartItem) {
    if (!items.some((i) => i.courseId === item.courseId)) write([...items, item]);
  },
  remove(courseId: string) {
    write(items.filter((i) => i.courseId !== courseId));
  },
  clear() {
    write([]);
  },
};

export function useCart(): CartItem[] {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => items,
  );
}
