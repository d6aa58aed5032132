// The API reference: Swagger UI, bundled with the console and loaded on demand, over the API's own
// document; "Try it out" calls this server with the signed-in user's token.
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

test('the API reference lists every endpoint and tries one out as the signed-in user', async () => {
  const { page, problems } = await newPage(browser);
  const scripts = [];
  page.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));
  await signIn(page, 'student', unique('reader'));
  assert.ok(!scripts.some((s) => s.includes('SwaggerView')), 'the viewer is not part of the initial load');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API' }).click();
  await page.getByRole('heading', { name: 'API reference' }).waitFor();
  const op = page.locator('#operations-default-getCurrentSubscription, [id$="-getCurrentSubscription"]').first();
  await op.waitFor();
  assert.ok(scripts.some((s) => s.includes('SwaggerView')), 'loaded on demand');
  assert.ok(scripts.every((s) => s.startsWith('/')), 'no CDN');
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, 'api-docs');

  await op.locator('.opblock-summary').first().click();
  await op.getByRole('button', { name: 'Try it out' }).click();
  await op.getByRole('button', { name: 'Execute' }).click();
  const status = op.locator('.live-responses-table tr.response td.response-col_status').first();
  await status.waitFor();
  assert.match(await status.innerText(), /^\s*200/);
  assert.match(await op.locator('.live-responses-table .microlight, .live-responses-table pre').first().innerText(), /"tier"/);
  await screenshot(page, 'api-docs-try-it-out');
  assert.deepEqual(problems, []);
});
