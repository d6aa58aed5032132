/* global getComputedStyle -- in evaluate, which runs in the page */
// White-label settings in the browser: an organisation's enterprise admin types a theme and sees
// it in the live preview (text colour picked for contrast), saves it for a new domain, is shown
// the DNS TXT record to create, is told when the record is not there yet, creates it (in the
// sandbox's DNS) and checks again: verified, and the theme is served on the domain. The pending
// claim survives a reload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, accessibilityViolations, api, launch, newPage, sandbox, screenshot, signIn, token, unique } from './harness.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('white label: live preview, DNS TXT proof, then the theme is served on the domain', async () => {
  const org = unique('umbrella');
  const domain = `learn.${org}.example`;
  const admin = await token('admin', unique('admin'));
  const issued = await api(
    'POST',
    '/api/enterprise/licenses/create',
    admin,
    { orgId: org, orgName: 'Umbrella Academy', contactEmail: 'it@umbrella.example', seats: 5, termMonths: 12 },
    unique('license'),
  );
  assert.equal(issued.status, 201, JSON.stringify(issued.body));

  const { page, problems } = await newPage(browser);
  await signIn(page, 'enterprise', unique('it-admin'), org);
  await page.goto(`/enterprise/licenses/${issued.body.licenseId}`);
  const panel = page.getByTestId('white-label');
  await panel.getByText('Your learners see Azora.').waitFor();

  // The preview follows the form as it is typed.
  const preview = page.getByTestId('white-label-preview');
  await panel.getByLabel('Brand name').fill('Umbrella Learning');
  await panel.getByLabel('Logo URL').fill('https://cdn.umbrella.example/logo.svg');
  await panel.locator('input[name="primaryColor"]').fill('#ffd400');
  await panel.getByLabel('Custom domain').fill(domain);
  await preview.getByText('Welcome to Umbrella Learning learning.').waitFor();
  await preview.getByText(`Preview of https://${domain}/`).waitFor();
  const bar = preview.locator('.preview-bar');
  assert.equal(await bar.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(255, 212, 0)');
  assert.equal(await bar.getAttribute('data-fg'), '#000000', 'dark text on a light colour');
  await panel.locator('input[name="primaryColor"]').fill('#3a0ca3');
  await preview.locator('.preview-bar[data-fg="#ffffff"]').waitFor();
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, 'white-label-preview');

  // Saving a new domain asks for the DNS proof.
  await panel.getByRole('button', { name: 'Save theme' }).click();
  const record = page.getByTestId('dns-record');
  await record.waitFor();
  const name = await record.getByTestId('dns-name').innerText();
  const value = await record.getByTestId('dns-value').innerText();
  assert.equal(name, `_azora-verify.${domain}`);
  assert.match(value, /^azora-verify=/);
  await screenshot(page, 'white-label-dns-record');

  // Checked before the record exists: not verified yet, said so.
  await record.getByRole('button', { name: 'Check DNS' }).click();
  await panel.locator('[role="alert"][data-code="domain_not_verified"]').waitFor();
  assert.equal((await api('GET', `/api/enterprise/white-label?domain=${domain}`)).status, 404, 'not served yet');

  // After a reload (or on another device) the claim waiting for its proof is still there.
  await page.reload();
  await record.waitFor();
  assert.equal(await record.getByTestId('dns-value').innerText(), value);
  assert.equal(await panel.getByLabel('Brand name').inputValue(), 'Umbrella Learning');

  // The record is created (in the sandbox's DNS), checked again: live.
  await sandbox('/_sandbox/dns/txt', { name, values: [value] });
  await record.getByRole('button', { name: 'Check DNS' }).click();
  await panel.getByText(`Verified: the theme is live on ${domain}.`).waitFor();
  await panel.getByText(`Live on ${domain} as Umbrella Learning.`).waitFor();
  const served = await (await fetch(`${BASE}/api/enterprise/white-label?domain=${domain}`)).json();
  assert.deepEqual(served, {
    brandName: 'Umbrella Learning',
    logoUrl: 'https://cdn.umbrella.example/logo.svg',
    primaryColor: '#3a0ca3',
    customDomain: domain,
  });
  await screenshot(page, 'white-label-verified');
  assert.deepEqual(problems, [
    '422 /api/enterprise/licenses/' + issued.body.licenseId + '/white-label/verify',
  ]);
});
