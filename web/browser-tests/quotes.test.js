// Enterprise quotes in the browser: an organisation's enterprise admin goes from the plans page to
// a quote, is told which field is wrong, then gets N seats for a term priced (seats × the seat
// price × months, as the API computes it) and finds it among the organisation's quotes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SANDBOX, accessibilityViolations, eventually, launch, newPage, screenshot, signIn, unique } from './harness.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an enterprise admin prices 40 seats for a year and sees the quote', async () => {
  const org = unique('globex');
  const { page, problems } = await newPage(browser);
  await signIn(page, 'enterprise', unique('buyer'), org);
  await page.goto('/pricing');
  await page.getByRole('link', { name: 'Get a quote' }).click();
  await page.getByRole('heading', { name: 'Enterprise quotes' }).waitFor();
  await page.getByText('No quotes yet.').waitFor();
  assert.equal(await page.getByLabel('Organisation name').inputValue(), org, 'the org is filled in');
  assert.deepEqual(await accessibilityViolations(page), []);

  await page.getByLabel('Seats').fill('40');
  await page.getByLabel('Term').selectOption('12');
  await page.getByLabel('Organisation name').fill('Globex Corporation');
  await page.getByLabel('Contact email').fill('not-an-email');
  await page.getByRole('button', { name: 'Get a quote' }).click();
  const invalid = page.locator('label.field.invalid').filter({ hasText: 'Contact email' });
  await invalid.waitFor();
  await screenshot(page, 'quote-invalid-email');

  await page.getByLabel('Contact email').fill('buyer@globex.example');
  await page.getByRole('button', { name: 'Get a quote' }).click();
  const total = page.getByTestId('quote-total');
  await total.waitFor();
  // USD 15.00 per seat and month: 40 × 15.00 × 12.
  assert.equal(await total.getAttribute('data-amount'), '720000');
  assert.equal(await total.innerText(), '$7,200.00');
  assert.match(await page.getByTestId('quote-breakdown').innerText(), /^40 seats × \$15\.00 per seat and month × 12 months \(\$180\.00 per seat/);
  await page.getByText('Globex Corporation').waitFor();
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, 'quote-priced');

  // Accepting sends a Stripe invoice; the page links its hosted payment page.
  await page.getByRole('button', { name: 'Accept and get the invoice' }).click();
  const invoice = page.getByTestId('quote-invoice');
  await invoice.waitFor();
  assert.match(await invoice.innerText(), /was sent to buyer@globex\.example; it is due on/);
  const hosted = await page.getByRole('link', { name: 'Pay the invoice' }).getAttribute('href');
  const invoiceId = hosted.split('/').pop();
  assert.match(invoiceId, /^in_/);
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, 'quote-invoiced');
  // The customer pays on Stripe's hosted page (the sandbox's API, as that page calls it); the
  // license is issued when the webhook arrives.
  const paid = await fetch(`${SANDBOX}/v1/invoices/${invoiceId}/pay`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_azora_local', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'payment_method=pm_card_visa',
  });
  assert.equal(paid.status, 200, await paid.text());
  await eventually(async () => {
    await page.reload();
    return (await page.getByTestId('quote-license').count()) > 0;
  }, 'the license of the paid quote');
  const license = page.getByTestId('quote-license').getByRole('link');
  assert.match(await license.innerText(), /^lic_/);
  await license.click();
  await page.getByText('40', { exact: false }).first().waitFor();
  await screenshot(page, 'quote-license');
  await page.goBack();

  await page.getByRole('link', { name: '← Quotes' }).click();
  const row = page.getByRole('table', { name: 'Quotes' }).getByRole('row').filter({ hasText: 'Globex Corporation' });
  await row.waitFor();
  assert.match(await row.innerText(), /40\s+1 year \(12 months\)\s+\$7,200\.00/);
  await screenshot(page, 'quotes-list');
  assert.deepEqual(problems, ['400 /api/enterprise/quotes']);
});
