// Drives Debian's headless Chromium (no downloaded browser) against a running local server:
// AZORA_CONSOLE_URL (the console and the API, one origin). Screenshots go to AZORA_SCREENS_DIR.
/* global axe, document -- in page.evaluate, which runs in the page */
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const BASE = process.env.AZORA_CONSOLE_URL ?? 'http://127.0.0.1:3000';
/** The Stripe sandbox's control API (its clock, its DNS records), as `make dev` runs it. */
export const SANDBOX = process.env.AZORA_SANDBOX_URL ?? 'http://127.0.0.1:12111';
const SCREENS = process.env.AZORA_SCREENS_DIR ?? join(process.cwd(), '..', 'target', 'web-screens');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
mkdirSync(SCREENS, { recursive: true });

/** A browser for one test file; each journey gets its own context (its own storage). */
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI and containers: Chromium's sandbox needs user namespaces it may not have.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export async function newPage(browser) {
  const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Failed requests name their URL (the console message does not), so a journey can tell an
  // expected refusal (a 402 decline) from a broken one.
  page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${new URL(r.url()).pathname}`));
  return { page, context, problems };
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The serious and critical axe-core violations on the page once it has loaded (none expected). */
export async function accessibilityViolations(page) {
  await page.waitForFunction(() => !document.querySelector('.loading'));
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => {
        // The first few nodes, each with why it fails (colours and ratio for contrast).
        const nodes = v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} [${(n.failureSummary ?? '').split('\n').slice(1).join(' ').trim()}]`);
        return `${v.id}: ${nodes.join(', ')}${v.nodes.length > 5 ? ` and ${v.nodes.length - 5} more` : ''}`;
      });
  });
}

export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

/** Signs in through the dev sign-in screen, as a person would. */
export async function signIn(page, role, sub, org = '') {
  await page.goto('/signin');
  await page.getByLabel('Role').selectOption(role);
  await page.getByLabel('User id').fill(sub);
  await page.getByLabel('Organisation (enterprise)').fill(org);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('who').filter({ hasText: sub }).waitFor();
}

/** A dev token for setting up through the API what a journey does not itself show. */
export async function token(role, sub, org) {
  const r = await fetch(`${BASE}/_local/token`, { method: 'POST', body: JSON.stringify(org ? { role, sub, org } : { role, sub }) });
  if (!r.ok) throw new Error(`token: ${r.status} ${await r.text()}`);
  return (await r.json()).token;
}

export async function api(method, path, bearer, body, idempotencyKey) {
  const headers = { authorization: `Bearer ${bearer}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const r = await fetch(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** A call to the Stripe sandbox's control API, e.g. `sandbox('/_sandbox/clock/advance', { seconds })`. */
export async function sandbox(path, body) {
  const r = await fetch(`${SANDBOX}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!r.ok) throw new Error(`sandbox ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** Polls `probe` until it returns a truthy value (the webhook and worker run asynchronously). */
export async function eventually(probe, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
