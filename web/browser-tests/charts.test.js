// The console's two charts (hand-written SVG): an instructor's earnings over time (pending,
// available, paid out) after a sale, and an organisation's usage by month after seats are taken.
// Each shows its legend with the latest values and the same numbers as a table.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessibilityViolations, api, eventually, launch, newPage, screenshot, signIn, token, unique } from './harness.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("an instructor's earnings chart shows a sale's share as pending", async () => {
  const teacher = unique('earner');
  const teacherToken = await token('instructor', teacher);
  const course = await api('POST', '/api/courses/upload', teacherToken, {
    title: `Charts and graphs ${unique('c')}`,
    description: 'Reading charts.',
    category: 'business',
    level: 'beginner',
    language: 'en',
    price: { amount: 2000, currency: 'USD' },
    publish: true,
    lessons: [{ title: 'Axes', durationSeconds: 300, contentUrl: 'https://cdn.example.com/axes.mp4' }],
  });
  assert.equal(course.status, 201, JSON.stringify(course.body));
  const buyer = await token('student', unique('buyer'));
  const paid = await api(
    'POST',
    '/api/payments/process',
    buyer,
    { items: [{ type: 'course', courseId: course.body.courseId }], paymentMethodId: 'pm_card_visa' },
    unique('order'),
  );
  assert.equal(paid.status, 201, JSON.stringify(paid.body));
  await eventually(
    async () => (await api('GET', '/api/instructors/me/earnings', teacherToken)).body.balances.length > 0,
    'the sale in the earnings',
  );

  const { page, problems } = await newPage(browser);
  await signIn(page, 'instructor', teacher);
  await page.goto('/instructor/earnings');
  const chart = page.getByTestId('earnings-chart-USD');
  await chart.waitFor();
  // 70 % of $20.00, pending for the refund window.
  const legend = await chart.locator('.legend').innerText();
  assert.match(legend, /Pending: \$14\.00/);
  assert.match(legend, /Available: \$0\.00/);
  assert.match(legend, /Paid out: \$0\.00/);
  assert.equal(await chart.locator('svg polyline').count(), 3);
  await chart.getByText('Show the numbers').click();
  const lastRow = chart.locator('tbody tr').last();
  assert.match(await lastRow.innerText(), /\$14\.00\s+\$0\.00\s+\$0\.00/);
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, 'instructor-earnings-chart');
  assert.deepEqual(problems, []);
});

test("an organisation's usage chart counts this month's seats", async () => {
  const org = unique('initech');
  const admin = await token('admin', unique('admin'));
  const issued = await api(
    'POST',
    '/api/enterprise/licenses/create',
    admin,
    { orgId: org, orgName: 'Initech', contactEmail: 'it@initech.example', seats: 5, termMonths: 12 },
    unique('license'),
  );
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const { licenseId, key } = issued.body;
  const itAdmin = unique('it-admin');
  const orgToken = await token('enterprise', itAdmin, org);
  for (const member of ['peter', 'samir', 'michael']) {
    const r = await api('POST', '/api/enterprise/licenses/activate', orgToken, { key, userId: member }, unique('seat'));
    assert.ok(r.status < 300, JSON.stringify(r.body));
  }

  const { page, problems } = await newPage(browser);
  await signIn(page, 'enterprise', itAdmin, org);
  await page.goto(`/enterprise/licenses/${licenseId}`);
  const chart = page.getByTestId('usage-chart');
  await chart.waitFor();
  assert.match(await chart.locator('figcaption').innerText(), /Seats used \(of 5\)/);
  assert.match(await chart.locator('.legend').innerText(), /Seats used: 3/);
  const bars = chart.locator('svg g[data-series="Seats used"] rect');
  assert.ok((await bars.count()) >= 1);
  assert.ok(Number(await bars.last().getAttribute('height')) > 0, 'this month has a bar');
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, 'enterprise-usage-chart');
  assert.deepEqual(problems, []);
});
