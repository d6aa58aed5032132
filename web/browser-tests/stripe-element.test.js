// The deployed console's card entry: Stripe.js's Payment Element in Stripe's "finalize payments
// on the server" flow, then Stripe.js's handleNextAction for 3-D Secure. Stripe.js cannot be
// downloaded here, so this journey runs the console as a deployed build would (a publishable key
// in /console-config.json, no sandbox test cards) with a stand-in for js.stripe.com that behaves
// as Stripe.js documents it: Elements with mode/amount/currency/paymentMethodCreation 'manual', a
// PaymentMethod only after `elements.submit()`, `handleNextAction` finishing the challenge. The
// stand-in turns the typed card into the Stripe sandbox's matching test PaymentMethod and
// completes challenges on the sandbox's 3-D Secure page, so the API, the sandbox and the webhooks
// are the real ones.
/* global window -- in page.evaluate */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, launch, newPage, screenshot, signIn, token, unique } from './harness.js';

const CHEAP_COURSE = 'demo-course-01';

const STRIPE_JS = `(() => {
  const calls = (window.__stripeCalls = []);
  const cards = { '4242424242424242': 'pm_card_visa', '4000002500003155': 'pm_card_authenticationRequired', '4000000000000002': 'pm_card_chargeDeclined' };
  function Stripe(key) {
    calls.push(['Stripe', key]);
    return {
      elements(options) {
        calls.push(['elements', options]);
        let submitted = false;
        return {
          create(type, opts) {
            calls.push(['create', type, opts]);
            return {
              mount(el) {
                const root = typeof el === 'string' ? document.querySelector(el) : el;
                root.innerHTML = '<label>Card number <input name="stand-in-card" autocomplete="cc-number"></label>';
              },
              destroy() {},
            };
          },
          async submit() {
            const number = (document.querySelector('[name=stand-in-card]')?.value ?? '').replace(/\\s/g, '');
            if (!/^\\d{16}$/.test(number)) return { error: { type: 'validation_error', message: 'Your card number is incomplete.' } };
            submitted = true;
            return {};
          },
          get submitted() { return submitted; },
        };
      },
      async createPaymentMethod({ elements }) {
        if (!elements.submitted) throw new Error('elements.submit() must be called before createPaymentMethod()');
        const number = document.querySelector('[name=stand-in-card]').value.replace(/\\s/g, '');
        calls.push(['createPaymentMethod']);
        const id = cards[number];
        return id ? { paymentMethod: { id } } : { error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' } };
      },
      async handleNextAction({ clientSecret }) {
        calls.push(['handleNextAction', clientSecret]);
        const intent = clientSecret.split('_secret_')[0];
        const page = await fetch('/_sandbox/3ds/' + encodeURIComponent(intent) + '?succeed=true');
        if (!page.ok) return { error: { type: 'invalid_request_error', message: 'challenge failed' } };
        return intent.startsWith('seti_') ? { setupIntent: { id: intent, status: 'succeeded' } } : { paymentIntent: { id: intent, status: 'succeeded' } };
      },
    };
  }
  Stripe.version = 'endive';
  window.Stripe = Stripe;
})();`;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A page that behaves as the deployed console: Stripe.js and a publishable key, no sandbox cards. */
async function deployedConsole() {
  const opened = await newPage(browser);
  const { context } = opened;
  await context.route('**/_local/console', (route) =>
    route.fulfill({ json: { local: true, devSignIn: true, sandbox3ds: false } }),
  );
  await context.route('**/console-config.json', (route) => route.fulfill({ json: { stripePublishableKey: 'pk_test_azoraBrowserJourney' } }));
  await context.route('https://js.stripe.com/**', (route) => route.fulfill({ contentType: 'text/javascript', body: STRIPE_JS }));
  return opened;
}

test('deployed card entry: Payment Element, 3-D Secure through handleNextAction, a decline', async () => {
  const { page, problems } = await deployedConsole();
  const student = unique('element');
  await signIn(page, 'student', student);
  await page.goto(`/courses/${CHEAP_COURSE}`);
  await page.getByRole('button', { name: 'Buy now' }).click();
  const element = page.getByTestId('payment-element');
  await element.getByLabel('Card number').waitFor();
  assert.equal(await page.getByText('Stripe sandbox test cards').count(), 0, 'no sandbox cards in a deployed build');
  const calls = () => page.evaluate(() => window.__stripeCalls);
  const elements = (await calls()).find((c) => c[0] === 'elements');
  assert.deepEqual(elements[1], { mode: 'payment', amount: 999, currency: 'usd', paymentMethodCreation: 'manual' });

  // A card Stripe.js refuses before anything reaches the API.
  await element.getByLabel('Card number').fill('4242');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await page.getByText('Your card number is incomplete.').waitFor();

  const bearer = await token('student', student);
  assert.deepEqual((await api('GET', '/api/payments/history', bearer)).body.items, [], 'the API was never asked');

  // A card the bank declines: Stripe.js makes its PaymentMethod, the API's charge is declined.
  await element.getByLabel('Card number').fill('4000 0000 0000 0002');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await page.locator('[role="alert"][data-code="card_declined"]').waitFor();
  assert.deepEqual((await api('GET', '/api/payments/history', bearer)).body.items.map((p) => p.status), ['failed']);

  // A card that asks for 3-D Secure: the API answers requires_action, Stripe.js runs the challenge.
  await element.getByLabel('Card number').fill('4000 0025 0000 3155');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await page.waitForURL(/\/payments\/pay_/);
  assert.equal(await page.locator('iframe[title="3-D Secure challenge"]').count(), 0, "Stripe.js's modal, not ours");
  const actions = (await calls()).filter((c) => c[0] === 'handleNextAction');
  assert.equal(actions.length, 1);
  assert.match(actions[0][1], /^pi_.+_secret_/);
  await eventually(async () => (await api('GET', `/api/courses/${CHEAP_COURSE}/access`, bearer)).body.owned === true, 'the course unlocked');
  const history = await api('GET', '/api/payments/history', bearer);
  // The declined order was still payable: the new order of its course canceled it.
  assert.deepEqual(history.body.items.map((p) => p.status).sort(), ['canceled', 'succeeded']);
  await screenshot(page, 'stripe-element-paid');
  assert.deepEqual(problems, ['402 /api/payments/process']);
});
