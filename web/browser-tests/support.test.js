// Support tickets in the browser: an organisation's enterprise admin files a ticket, support staff
// (an admin) find it in the queue, oldest first, and answer; the organisation replies, support
// resolves it, the organisation closes it. Each side sees the status in its own words.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessibilityViolations, launch, newPage, screenshot, signIn, unique } from './harness.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('support tickets: filed by an org admin, answered from the support queue, resolved and closed', async () => {
  const org = unique('acme');
  const customer = await newPage(browser);
  const support = await newPage(browser);
  const subject = `Seats for ${org}`;
  const status = (page) => page.getByTestId('ticket-status');

  // The organisation files a ticket: it waits for support.
  await signIn(customer.page, 'enterprise', unique('it-admin'), org);
  await customer.page.goto('/support');
  await customer.page.getByText('No tickets yet').waitFor();
  await customer.page.getByLabel('Subject').fill(subject);
  await customer.page.getByLabel('What happened?').fill('Two people cannot take a seat.');
  await customer.page.getByLabel('Priority').selectOption('high');
  await customer.page.getByRole('button', { name: 'File ticket' }).click();
  await customer.page.getByRole('heading', { name: subject }).waitFor();
  assert.equal(await status(customer.page).getAttribute('data-status'), 'open');
  assert.equal(await status(customer.page).innerText(), 'Waiting for support');
  const ticketUrl = customer.page.url();
  assert.deepEqual(await accessibilityViolations(customer.page), []);
  await screenshot(customer.page, 'support-ticket-filed');

  // Support finds it in the queue and answers: it now waits for the customer, out of the queue.
  await signIn(support.page, 'admin', unique('support'));
  await support.page.goto('/admin/support');
  await support.page.getByRole('heading', { name: 'Support queue' }).waitFor();
  const queued = support.page.getByRole('link', { name: subject });
  await queued.waitFor();
  assert.deepEqual(await accessibilityViolations(support.page), []);
  await screenshot(support.page, 'support-queue');
  await queued.click();
  await support.page.getByRole('heading', { name: subject }).waitFor();
  await support.page.getByText(`Customer (${org})`).first().waitFor();
  await support.page.getByLabel('Reply to the customer').fill('Which license do they try to join?');
  await support.page.getByRole('button', { name: 'Send reply' }).click();
  await status(support.page).filter({ hasText: 'Waiting for the customer' }).waitFor();
  assert.deepEqual(await accessibilityViolations(support.page), []);
  await screenshot(support.page, 'support-ticket-answered');
  await support.page.goto('/admin/support');
  await support.page.locator('.loading').waitFor({ state: 'detached' });
  assert.equal(await support.page.getByRole('link', { name: subject }).count(), 0, 'out of the queue');

  // The organisation sees the answer and replies: back to support.
  await customer.page.goto(ticketUrl);
  await status(customer.page).filter({ hasText: 'Waiting for you' }).waitFor();
  await customer.page.getByText('Which license do they try to join?').waitFor();
  await customer.page.getByLabel('Your reply').fill('The yearly one, lic_demo.');
  await customer.page.getByRole('button', { name: 'Send reply' }).click();
  await status(customer.page).filter({ hasText: 'Waiting for support' }).waitFor();
  const conversation = customer.page.getByRole('list', { name: 'Conversation' }).getByRole('listitem');
  assert.equal(await conversation.count(), 3);

  // Support resolves it from the queue.
  await support.page.goto('/admin/support');
  await support.page.getByRole('link', { name: subject }).click();
  await support.page.getByText('The yearly one, lic_demo.').waitFor();
  await support.page.getByRole('button', { name: 'Mark resolved' }).click();
  await status(support.page).filter({ hasText: 'Resolved' }).waitFor();

  // The organisation sees it resolved in its list, then closes it: no more replies.
  await customer.page.goto('/support');
  const row = customer.page.getByRole('list', { name: 'Tickets' }).getByRole('listitem').filter({ hasText: subject });
  await row.filter({ hasText: 'Resolved' }).waitFor();
  await row.getByRole('link', { name: subject }).click();
  await customer.page.getByRole('button', { name: 'Close ticket' }).click();
  await status(customer.page).filter({ hasText: 'Closed' }).waitFor();
  await customer.page.getByText('This ticket is closed.').waitFor();
  assert.equal(await customer.page.getByRole('button', { name: 'Send reply' }).count(), 0);
  await screenshot(customer.page, 'support-ticket-closed');

  assert.deepEqual(customer.problems, []);
  assert.deepEqual(support.problems, []);
});
