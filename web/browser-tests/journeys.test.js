// The console's main journeys in a real browser, end to end through the API, the Stripe sandbox
// and its webhooks. Run by infra/scripts/browser-test.sh (in `make test`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { api, eventually, launch, newPage, screenshot, signIn, token, unique } from './harness.js';

/** Seeded by the local server (infra/local/src/seed.rs): USD 19.99 and USD 9.99, 3+ lessons each. */
const COURSE = 'demo-course-02';
const CHEAP_COURSE = 'demo-course-01';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a student buys a course with 3-D Secure and sees it unlocked and the receipt', async () => {
  const { page, problems } = await newPage(browser);
  const student = unique('student');
  await signIn(page, 'student', student);
  await screenshot(page, '01-catalog');

  await page.goto(`/courses/${COURSE}`);
  await assert.doesNotReject(page.locator('.lessons li[data-state="locked"]').first().waitFor());
  await screenshot(page, '02-course-locked');
  await page.getByRole('button', { name: 'Buy now' }).click();

  await page.getByRole('heading', { name: 'Checkout' }).waitFor();
  await page.getByLabel(/Asks for 3-D Secure/).check();
  await screenshot(page, '03-checkout');
  await page.getByRole('button', { name: /^Pay/ }).click();

  const dialog = page.getByRole('dialog', { name: 'Confirm this payment with your bank' });
  await dialog.waitFor();
  await screenshot(page, '04-3ds-challenge');
  await page.frameLocator('iframe[title="3-D Secure challenge"]').getByRole('link', { name: 'Complete authentication' }).click();

  await page.waitForURL(/\/payments\/[^/?]+/);
  await page.locator('[data-status="succeeded"]').waitFor();
  await page.getByText('Unlocked').waitFor();
  const receipt = page.frameLocator('iframe[title="Receipt"]');
  await receipt.getByText(/R-\d{4}-\d+/).first().waitFor();
  await screenshot(page, '05-payment-receipt');
  // The receipt as a PDF file (fetched with the token, handed to the browser as a download).
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download PDF' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^receipt-.+\.pdf$/);
  const pdf = await readFile(await download.path());
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-', 'a PDF file');

  await page.goto(`/courses/${COURSE}`);
  await page.locator('.lessons li[data-state="unlocked"]').first().waitFor();
  assert.equal(await page.locator('.lessons li[data-state="locked"]').count(), 0, 'every lesson is unlocked');
  await page.getByText('Enrolled', { exact: true }).waitFor();
  await screenshot(page, '06-course-unlocked');
  assert.deepEqual(problems, []);
});

test('a declined card shows the decline message and nothing is charged', async () => {
  const { page, problems } = await newPage(browser);
  const student = unique('decline');
  await signIn(page, 'student', student);
  await page.goto(`/courses/${CHEAP_COURSE}`);
  await page.getByRole('button', { name: 'Buy now' }).click();
  await page.getByLabel(/— Declined$/).check();
  await page.getByRole('button', { name: /^Pay/ }).click();

  const alert = page.locator('[role="alert"][data-code="card_declined"]');
  await alert.waitFor();
  assert.match(await alert.innerText(), /declined\. Nothing was charged/);
  await screenshot(page, '07-card-declined');

  // Nothing charged: the one payment failed, and the course stays locked.
  const bearer = await token('student', student);
  const history = await api('GET', '/api/payments/history', bearer);
  assert.equal(history.status, 200);
  assert.deepEqual(
    history.body.items.map((p) => p.status),
    ['failed'],
  );
  const access = await api('GET', `/api/courses/${CHEAP_COURSE}/access`, bearer);
  assert.equal(access.body.owned, false);
  await page.goto('/payments');
  await page.locator('[data-status="failed"]').waitFor();
  await screenshot(page, '08-payments-failed');
  assert.deepEqual(problems, ['402 /api/payments/process']);
});

test('an instructor uploads a course with a validation error, fixes it and publishes', async () => {
  const { page, problems } = await newPage(browser);
  const instructor = unique('teacher');
  await signIn(page, 'instructor', instructor);
  await page.goto('/instructor/courses/new');
  const title = `Browser-tested course ${instructor.slice(-6)}`;
  await page.locator('input[name="title"]').fill('abc');
  await page.getByLabel('Description').fill('Written by the browser journey.');
  await page.getByLabel('Price').fill('24.50');
  await page.getByLabel('Lesson 1 title').fill('Welcome');
  await page.getByLabel('Video URL').fill('http://insecure.example.com/1.mp4');
  await page.getByRole('button', { name: 'Publish' }).click();

  const titleField = page.locator('label.field', { has: page.locator('input[name="title"]') });
  await titleField.locator('.field-error').waitFor();
  const urlField = page.locator('label.field', { has: page.getByLabel('Video URL') });
  await urlField.locator('.field-error').waitFor();
  await screenshot(page, '09-upload-validation-errors');

  await page.locator('input[name="title"]').fill(title);
  await page.getByLabel('Video URL').fill('https://cdn.example.com/1.mp4');
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByText('Published: your course is in the catalog.').waitFor();
  await page.locator('.badge.status-published').waitFor();
  assert.equal(await page.locator('.field-error').count(), 0);
  await screenshot(page, '10-upload-published');

  await page.goto('/instructor');
  await page.getByRole('link', { name: title }).waitFor();
  await page.goto(`/courses?q=${encodeURIComponent(title.split(' ').slice(0, 2).join(' '))}&sort=newest`);
  await page.getByRole('link', { name: title }).waitFor();
  await screenshot(page, '11-catalog-search');
  assert.deepEqual(problems, ['400 /api/courses/upload']);
});

test('an admin refunds a payment and finds it in the audit log', async () => {
  // A paid order, set up through the API.
  const buyer = unique('buyer');
  const buyerToken = await token('student', buyer);
  const paid = await api(
    'POST',
    '/api/payments/process',
    buyerToken,
    { items: [{ type: 'course', courseId: COURSE }], paymentMethodId: 'pm_card_visa' },
    unique('order'),
  );
  assert.equal(paid.status, 201, JSON.stringify(paid.body));
  const paymentId = paid.body.paymentId;
  await eventually(async () => (await api('GET', `/api/payments/${paymentId}`, buyerToken)).body.fulfilled, 'fulfilment');

  const { page, problems } = await newPage(browser);
  await signIn(page, 'admin', unique('admin'));
  await page.goto('/admin/payments');
  await page.getByLabel("Buyer's user id").fill(buyer);
  await page.getByRole('button', { name: 'Find payments' }).click();
  await page.locator(`tr[data-payment="${paymentId}"] a`).click();
  await page.getByRole('heading', { name: 'Refund (admin)' }).waitFor();
  await page.getByLabel('Reason').selectOption('duplicate');
  await screenshot(page, '12-admin-refund');
  await page.getByRole('button', { name: 'Refund', exact: true }).click();
  await page.getByText(/^Refunded /).waitFor();
  await page.locator('[data-status="refunded"]').waitFor();
  await screenshot(page, '13-admin-refunded');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
  const row = page.locator('tr[data-action="payment.refund"]', { hasText: paymentId });
  await row.waitFor();
  assert.match(await row.innerText(), /duplicate/);
  await screenshot(page, '14-audit-log');
  assert.deepEqual(problems, []);
});

test('a learner redeems tokens for a voucher and uses it at checkout', async () => {
  const learner = unique('learner');
  const admin = await token('admin', unique('admin'));
  const award = await api('POST', '/api/tokens/award', admin, { userId: learner, reason: 'contest_winner', amount: 600 }, unique('award'));
  assert.equal(award.status, 201, JSON.stringify(award.body));

  const { page, problems } = await newPage(browser);
  await signIn(page, 'student', learner);
  await page.goto('/tokens');
  await page.getByTestId('balance').filter({ hasText: '600' }).waitFor();
  await page.locator('.rewards li', { hasText: '500 tokens' }).getByRole('button', { name: 'Redeem' }).click();
  await page.getByText(/^Redeemed .* Balance: 100 tokens\.$/).waitFor();
  await page.getByTestId('balance').filter({ hasText: /^100$/ }).waitFor();
  await screenshot(page, '15-tokens-redeemed');

  await page.goto(`/courses/${COURSE}`);
  await page.getByRole('button', { name: 'Buy now' }).click();
  await page.getByLabel('Voucher').selectOption({ index: 1 });
  await page.getByLabel(/— Succeeds$/).first().check();
  await screenshot(page, '16-checkout-voucher');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await page.waitForURL(/\/payments\/[^/?]+/);
  await page.getByText('Unlocked').waitFor();
  // USD 19.99 less the USD 5.00 voucher.
  assert.equal(await page.getByTestId('amount').innerText(), '$14.99');
  await screenshot(page, '17-paid-with-voucher');
  assert.deepEqual(problems, []);
});

test('an enterprise admin assigns the last seat and sees the next assignment refused', async () => {
  const org = unique('org');
  const admin = await token('admin', unique('admin'));
  const issued = await api(
    'POST',
    '/api/enterprise/licenses/create',
    admin,
    { orgId: org, orgName: 'Browser Org', contactEmail: 'it@browser-org.example', seats: 2, termMonths: 12 },
    unique('license'),
  );
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const licenseId = issued.body.licenseId;

  const { page, problems } = await newPage(browser);
  await signIn(page, 'enterprise', unique('it-admin'), org);
  await page.goto('/enterprise');
  await page.getByLabel('License id').fill(licenseId);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByTestId('seats').filter({ hasText: '0 of 2 seats used' }).waitFor();
  for (const [member, used] of [
    ['member-a', 1],
    ['member-b', 2],
  ]) {
    await page.getByLabel("Member's user id").fill(member);
    await page.getByRole('button', { name: 'Assign seat' }).click();
    await page.getByText(`Seat assigned to ${member}.`).waitFor();
    await page.getByTestId('seats').filter({ hasText: `${used} of 2 seats used` }).waitFor();
  }
  await page.getByLabel("Member's user id").fill('member-c');
  await page.getByRole('button', { name: 'Assign seat' }).click();
  await page.locator('[role="alert"][data-code="no_seats_left"]').waitFor();
  await screenshot(page, '18-seats-full');

  // Releasing a seat makes room again.
  await page.getByLabel("Member's user id").fill('member-a');
  await page.getByRole('button', { name: 'Release seat' }).click();
  await page.getByTestId('seats').filter({ hasText: '1 of 2 seats used' }).waitFor();
  assert.deepEqual(problems, ['409 /api/enterprise/licenses/activate']);
});

test('an admin suspends a license and reinstates it, and both are audited', async () => {
  const { page, problems } = await newPage(browser);
  await signIn(page, 'admin', unique('admin'));
  await page.goto('/admin/licenses');
  const org = unique('org');
  await page.getByLabel('Organisation id').fill(org);
  await page.getByLabel('Organisation name').fill('Suspended Org');
  await page.getByLabel('Contact email').fill('it@suspended.example');
  await page.getByRole('button', { name: 'Issue license' }).click();
  await page.getByRole('heading', { name: 'Suspended Org' }).waitFor();
  const licenseId = decodeURIComponent(page.url().split('/').pop());

  await page.getByLabel('Reason').fill('unpaid invoice');
  await page.getByRole('button', { name: 'Suspend' }).click();
  await page.getByText('License suspended.').waitFor();
  await page.locator('.badge.status-suspended').waitFor();
  await screenshot(page, '19-license-suspended');
  await page.getByRole('button', { name: 'Reinstate' }).click();
  await page.getByText('License reinstated.').waitFor();
  await page.locator('.badge.status-active').waitFor();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
  for (const action of ['license.suspend', 'license.reinstate']) {
    await page.locator(`tr[data-action="${action}"]`, { hasText: licenseId }).waitFor();
  }
  assert.deepEqual(problems, []);
});
