// Sign-in as deployed: Authorization Code + PKCE (S256) against the identity provider named in
// /console-config.json. No identity provider can be reached here, so this journey runs the
// console without dev sign-in and answers the provider's two endpoints itself, as an OAuth server
// must: the authorize request is checked (response type, client, redirect URI, S256 challenge,
// state) and redirects back with a code; the token request must carry that code, the same
// redirect URI and the verifier whose SHA-256 is the challenge, else it is refused. The ID token
// it returns is a real token of the local server, so the API calls that follow are real.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { BASE, accessibilityViolations, launch, newPage, screenshot, token, unique } from './harness.js';

const IDP = 'https://login.azora.test';
const CLIENT = 'console-browser-journey';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A console page as deployed with an identity provider, and that provider's state. */
async function deployedConsole(user) {
  const opened = await newPage(browser);
  const provider = { authorizations: [], tokenRequests: [], refused: [] };
  const { context } = opened;
  await context.route('**/_local/console', (route) => route.fulfill({ json: { local: false, devSignIn: false, sandbox3ds: false } }));
  await context.route('**/console-config.json', (route) =>
    route.fulfill({
      json: {
        oidc: { authorizeUrl: `${IDP}/oauth2/authorize`, tokenUrl: `${IDP}/oauth2/token`, logoutUrl: `${IDP}/logout`, clientId: CLIENT, label: 'Azora Login' },
      },
    }),
  );
  await context.route(`${IDP}/oauth2/authorize**`, (route) => {
    const q = new URL(route.request().url()).searchParams;
    const ok =
      q.get('response_type') === 'code' &&
      q.get('client_id') === CLIENT &&
      q.get('redirect_uri') === `${BASE}/auth/callback` &&
      q.get('code_challenge_method') === 'S256' &&
      /^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '') &&
      (q.get('state') ?? '').length >= 16 &&
      (q.get('scope') ?? '').split(' ').includes('openid');
    if (!ok) {
      provider.refused.push(`authorize ${q}`);
      return route.fulfill({ status: 400, body: 'bad authorize request' });
    }
    const code = randomBytes(16).toString('hex');
    provider.authorizations.push({ code, challenge: q.get('code_challenge'), redirect: q.get('redirect_uri'), used: false });
    return route.fulfill({ status: 302, headers: { location: `${q.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(q.get('state'))}` } });
  });
  await context.route(`${IDP}/oauth2/token`, async (route) => {
    const form = new URLSearchParams(route.request().postData() ?? '');
    provider.tokenRequests.push(Object.fromEntries(form));
    const grant = provider.authorizations.find((a) => a.code === form.get('code') && !a.used);
    const verifier = form.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const cors = { 'access-control-allow-origin': BASE };
    if (
      form.get('grant_type') !== 'authorization_code' ||
      form.get('client_id') !== CLIENT ||
      !grant ||
      grant.redirect !== form.get('redirect_uri') ||
      grant.challenge !== challenge
    ) {
      provider.refused.push(`token ${form}`);
      return route.fulfill({ status: 400, headers: cors, json: { error: 'invalid_grant' } });
    }
    grant.used = true;
    const idToken = await token(user.role, user.sub);
    return route.fulfill({ headers: cors, json: { id_token: idToken, access_token: 'unused', token_type: 'Bearer', expires_in: 3600 } });
  });
  return { ...opened, provider };
}

test('sign-in in AWS: Authorization Code + PKCE through the identity provider, back to the screen asked for', async () => {
  const user = { role: 'instructor', sub: unique('oidc') };
  const { page, problems, provider } = await deployedConsole(user);
  // A members' screen asks for sign-in first, and is shown after it.
  await page.goto('/instructor');
  await page.waitForURL(/\/signin\?next=/);
  assert.equal(await page.getByLabel('Role').count(), 0, 'no dev sign-in in a deployed console');
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, 'sign-in-provider');
  await page.getByRole('button', { name: 'Sign in with Azora Login' }).click();
  await page.getByTestId('who').filter({ hasText: user.sub }).waitFor();
  await page.waitForURL(/\/instructor$/);
  assert.equal(provider.authorizations.length, 1);
  assert.equal(provider.tokenRequests.length, 1);
  assert.deepEqual(provider.refused, []);
  // The API accepts the token: the instructor's own screen loads its data.
  await page.getByRole('heading', { name: 'My courses' }).waitFor();
  assert.deepEqual(problems, []);

  // A callback this browser did not start (a link sent to someone else, a replay) signs nobody in.
  const elsewhere = await deployedConsole(user);
  await elsewhere.page.goto(`/auth/callback?code=${provider.authorizations[0].code}&state=replayed`);
  await elsewhere.page.getByText(/did not start in this tab/).waitFor();
  assert.equal(await elsewhere.page.getByTestId('who').count(), 0, 'not signed in');
  assert.deepEqual(elsewhere.provider.tokenRequests, [], 'no code was traded');
});
