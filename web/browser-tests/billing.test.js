// Subscriptions in the browser: subscribing from the plans page (a declined card, then 3-D
// Secure), upgrading monthly → yearly with the proration shown before confirming, canceling
// at the period end then resuming, and a renewal that fails (past due) fixed from the banner. Through the API, the Stripe sandbox and its webhooks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, launch, newPage, sandbox, screenshot, signIn, token, unique } from './harness.js';

const DAY = 24 * 3600;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A Pro subscriber set up through the API (what these journeys do not themselves show). */
async function subscriber(prefix, interval) {
  const user = unique(prefix);
  const bearer = await token('student', user);
  const body = { tier: 'pro', interval, paymentMethodId: 'pm_card_visa' };
  const created = await api('POST', '/api/subscriptions/create', bearer, body, unique('subscribe'));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await eventually(
    async () => (await api('GET', '/api/subscriptions/current', bearer)).body?.status === 'active',
    'the subscription to be active',
  );
  return { user, bearer };
}

test('a free user subscribes from the plans page: a declined card, then 3-D Secure', async () => {
  const { page, problems } = await newPage(browser);
  const user = unique('newpro');
  await signIn(page, 'student', user);
  await page.goto('/pricing');
  await page.getByRole('heading', { name: 'Compare plans' }).waitFor();
  await page.getByTestId('current-free').waitFor();
  const plans = (await api('GET', '/api/plans', await token('student', user))).body;
  const yearly = plans.plans.find((p) => p.tier === 'pro').prices.find((p) => p.interval === 'year');
  await page.getByLabel('Yearly', { exact: true }).check();
  assert.match(await page.getByTestId('price-pro').innerText(), /\/ year/);
  await screenshot(page, 'plans-yearly');

  await page.getByRole('button', { name: 'Subscribe to Pro' }).click();
  await page.getByLabel(/— Declined$/).check();
  await page.getByRole('button', { name: /and subscribe$/ }).click();
  const declined = page.locator('[role="alert"][data-code="card_declined"]');
  await declined.waitFor();
  assert.match(await declined.innerText(), /declined/i);
  await screenshot(page, 'plans-subscribe-declined');

  await page.getByLabel(/Asks for 3-D Secure/).check();
  await page.getByRole('button', { name: /and subscribe$/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm this payment with your bank' });
  await dialog.waitFor();
  await page.frameLocator('iframe[title="3-D Secure challenge"]').getByRole('link', { name: 'Complete authentication' }).click();

  await page.waitForURL(/\/billing/);
  await page.locator('[data-testid="plan"][data-tier="pro"][data-interval="year"][data-status="active"]').waitFor();
  await page.locator(`[data-testid="invoices"] tr[data-status="paid"] td[data-amount="${yearly.amount}"]`).waitFor();
  await screenshot(page, 'billing-subscribed');
  assert.deepEqual(problems, ['402 /api/subscriptions/create']);
});

test('a subscriber upgrades monthly to yearly, sees the proration before confirming, then the new plan', async () => {
  const { user, bearer } = await subscriber('upgrader', 'month');
  const { page, problems } = await newPage(browser);
  await signIn(page, 'student', user);
  await page.goto('/billing');
  await page.locator('[data-testid="plan"][data-interval="month"][data-status="active"]').waitFor();
  await page.getByRole('button', { name: 'Switch to yearly' }).click();

  const amount = page.getByTestId('proration-amount');
  await amount.waitFor();
  const quoted = Number(await amount.getAttribute('data-amount'));
  // A year of Pro less the unused month just paid for.
  assert.ok(quoted > 0 && quoted < 12_000, `quoted ${quoted}`);
  assert.match(await amount.innerText(), /^\$[\d,]+\.\d\d$/);
  const confirm = page.getByRole('button', { name: /^Confirm and pay/ });
  assert.ok((await confirm.innerText()).includes(await amount.innerText()), 'the button names the amount');
  assert.equal(
    (await api('GET', '/api/subscriptions/current', bearer)).body.interval,
    'month',
    'nothing changes before confirming',
  );
  await screenshot(page, 'billing-upgrade-quote');

  await confirm.click();
  await page.locator('[data-testid="plan"][data-interval="year"]').waitFor();
  await page.getByText(/You are now on Pro \(yearly\)/).waitFor();
  // Charged exactly what was shown.
  await page.locator(`[data-testid="invoices"] tr[data-status="paid"] td[data-amount="${quoted}"]`).waitFor();
  await screenshot(page, 'billing-upgraded');
  assert.deepEqual(problems, []);
});

test('a subscriber cancels at period end, sees it pending, and resumes', async () => {
  const { user, bearer } = await subscriber('canceler', 'month');
  const { page, problems } = await newPage(browser);
  await signIn(page, 'student', user);
  await page.goto('/billing');
  await page.getByTestId('renews').waitFor();
  await page.getByRole('button', { name: 'Cancel subscription' }).click();
  const terms = page.getByTestId('effective-at');
  await terms.waitFor();
  assert.match(await terms.innerText(), /Nothing is charged today\. You keep Pro until .+, then move to Free\./);
  await page.getByRole('button', { name: 'Cancel at period end' }).click();

  const pending = page.getByTestId('pending-change');
  await pending.filter({ hasText: /^Cancels on / }).waitFor();
  assert.equal((await api('GET', '/api/subscriptions/current', bearer)).body.pendingChange.tier, 'free');
  await screenshot(page, 'billing-cancel-pending');

  await page.getByRole('button', { name: /^Resume Pro/ }).click();
  await page.getByTestId('renews').waitFor();
  assert.equal(await pending.count(), 0);
  await eventually(async () => {
    const c = (await api('GET', '/api/subscriptions/current', bearer)).body;
    return c.pendingChange === null && c.cancelAtPeriodEnd === false && c.status === 'active';
  }, 'the subscription to be resumed');
  await screenshot(page, 'billing-resumed');
  assert.deepEqual(problems, []);
});

test('a subscriber adds a card with 3-D Secure, makes it the default and removes the old one', async () => {
  const { user } = await subscriber('cards', 'month');
  const { page, problems } = await newPage(browser);
  await signIn(page, 'student', user);
  await page.goto('/billing/payment-method');
  await page.getByRole('heading', { name: 'Update your payment method' }).waitFor();
  await page.locator('[data-testid="saved-card"][data-last4="4242"][data-default="true"]').waitFor();

  await page.getByRole('button', { name: 'Add a card' }).click();
  await page.getByLabel(/Asks for 3-D Secure/).check();
  await page.getByRole('button', { name: 'Save card' }).click();
  await page.getByRole('dialog').waitFor();
  await page.frameLocator('iframe[title="3-D Secure challenge"]').getByRole('link', { name: 'Complete authentication' }).click();
  const added = page.locator('[data-testid="saved-card"][data-last4="3184"]');
  await added.waitFor();
  assert.equal(await added.getAttribute('data-default'), 'false');
  await screenshot(page, 'payment-method-added');

  await page.getByRole('button', { name: 'Make default (Visa •••• 3184)' }).click();
  await page.locator('[data-testid="saved-card"][data-last4="3184"][data-default="true"]').waitFor();
  await page.getByRole('button', { name: 'Remove (Visa •••• 4242)' }).click();
  await eventually(async () => (await page.locator('[data-testid="saved-card"][data-last4="4242"]').count()) === 0, 'the old card to go');
  assert.equal(await page.locator('[data-testid="saved-card"]').count(), 1);
  await screenshot(page, 'payment-method-replaced');
  assert.deepEqual(problems, []);
});

test('a renewal fails: the past-due banner leads to the card page, a new card pays the retry', async () => {
  const { user, bearer } = await subscriber('pastdue', 'month');
  // The subscriber's card starts failing (saved and made the default through the API).
  const saved = await api('POST', '/api/payment-methods/setup', bearer, { paymentMethodId: 'pm_card_chargeCustomerFail' }, unique('pm'));
  assert.ok(saved.status < 300, JSON.stringify(saved.body));
  const failing = saved.body.paymentMethodId;
  const made = await api('POST', `/api/payment-methods/${failing}/default`, bearer, {}, unique('default'));
  assert.ok(made.status < 300, JSON.stringify(made.body));
  // A month later, in the sandbox, the renewal is declined: past due (the plan is kept meanwhile).
  await sandbox('/_sandbox/clock/advance', { seconds: 31 * DAY + 3600 });
  await eventually(
    async () => (await api('GET', '/api/subscriptions/current', bearer)).body?.status === 'past_due',
    'the subscription to be past due',
  );

  const { page, problems } = await newPage(browser);
  await signIn(page, 'student', user);
  await page.goto('/billing');
  const banner = page.getByTestId('past-due');
  await banner.waitFor();
  assert.match(await banner.innerText(), /Your last payment failed/);
  await page.locator('[data-testid="plan"][data-tier="pro"][data-status="past_due"]').waitFor();
  await screenshot(page, 'billing-past-due');

  await banner.getByRole('link', { name: 'Update your card' }).click();
  await page.waitForURL(/\/billing\/payment-method$/);
  await page.getByRole('heading', { name: 'Update your payment method' }).waitFor();
  await page.getByRole('button', { name: 'Add a card' }).click();
  await page.getByLabel(/^Mastercard/).check();
  await page.getByRole('button', { name: 'Save card' }).click();
  const added = page.locator('[data-testid="saved-card"][data-last4="4444"]');
  await added.waitFor();
  await page.getByRole('button', { name: 'Make default (Mastercard •••• 4444)' }).click();
  await page.locator('[data-testid="saved-card"][data-last4="4444"][data-default="true"]').waitFor();
  await screenshot(page, 'payment-method-fixed');

  // The next retry (3 days after the failure) charges the new card: active again, no banner.
  await sandbox('/_sandbox/clock/advance', { seconds: 3 * DAY });
  await eventually(
    async () => (await api('GET', '/api/subscriptions/current', bearer)).body?.status === 'active',
    'the retry to pay the renewal',
  );
  await page.goto('/billing');
  await page.locator('[data-testid="plan"][data-tier="pro"][data-status="active"]').waitFor();
  assert.equal(await page.getByTestId('past-due').count(), 0);
  await screenshot(page, 'billing-past-due-paid');
  assert.deepEqual(problems, []);
});
