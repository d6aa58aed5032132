// Every screen, as the role it is for: it renders without a failed request or a script error, and
// an axe-core scan finds no serious or critical accessibility violation. Screenshots of each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessibilityViolations, launch, newPage, screenshot, signIn, unique } from './harness.js';

/** role, user, org, then [path, a text the loaded screen shows]. */
const ROLES = [
  ['student', unique('visitor'), '', [
    ['/courses', 'Page 1'],
    ['/courses/demo-course-03', 'Lessons'],
    ['/pricing', 'Compare plans'],
    ['/checkout', 'Your cart is empty'],
    ['/payments', 'No payments yet'],
    ['/my-courses', 'You own no courses yet'],
    ['/tokens', 'Rewards'],
    ['/leaderboards', 'You follow nobody yet'],
    ['/billing', 'No invoices yet'],
    ['/billing/payment-method', 'Update your payment method'],
    ['/enterprise/quotes', 'No quotes yet'],
  ]],
  ['instructor', 'demo-instructor', '', [
    ['/instructor', 'My courses'],
    ['/instructor/courses/new', 'Lessons'],
    ['/instructor/earnings', 'Earnings'],
    ['/instructor/payouts', 'Set up payouts with Stripe'],
  ]],
  ['enterprise', unique('it-admin'), 'demo-org', [
    ['/enterprise', 'Recently opened'],
    ['/enterprise/licenses/lic_demo', 'seats used'],
    ['/support', 'No tickets yet'],
  ]],
  ['admin', unique('admin'), '', [
    ['/admin', 'Audit log'],
    ['/admin/payments', "Enter a buyer's user id"],
    ['/admin/licenses', 'Issue license'],
    ['/admin/tokens', 'Award'],
    ['/admin/support', 'Support queue'],
    ['/enterprise/licenses/lic_demo', 'Manage (admin)'],
  ]],
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

for (const [role, user, org, screens] of ROLES) {
  test(`every ${role} screen renders, error-free and accessible`, async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, role, user, org);
    for (const [path, marker] of screens) {
      await page.goto(path);
      await page.getByText(marker).first().waitFor();
      assert.deepEqual(await accessibilityViolations(page), [], `${path} as ${role}`);
      await screenshot(page, `screen-${role}${path.replace(/\//g, '-')}`);
    }
    assert.deepEqual(problems, []);
  });
}

test('a student sees no instructor, enterprise or admin screens', async () => {
  const { page } = await newPage(browser);
  await signIn(page, 'student', unique('student'));
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const hidden of ['Teach', 'Licenses', 'Admin']) {
    assert.equal(await nav.getByRole('link', { name: hidden }).count(), 0, hidden);
  }
  await page.goto('/admin');
  await page.getByRole('heading', { name: 'Not available to your account' }).waitFor();
});
