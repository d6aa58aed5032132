// Class leaderboards in the browser: an instructor creates a class and sees its join code; a
// learner joins with the code and sees the class board, where a member who hides from
// leaderboards is "Anonymous learner" (never their id or name); outsiders cannot open it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessibilityViolations, api, launch, newPage, screenshot, signIn, token, unique } from './harness.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function award(admin, userId, amount) {
  const r = await api('POST', '/api/tokens/award', admin, { userId, reason: 'class_quiz', amount }, unique('award'));
  assert.ok(r.status < 300, JSON.stringify(r.body));
}

test('class leaderboards: created with a join code, joined by code, hidden members stay hidden', async () => {
  const teacher = unique('teacher');
  const className = `Spanish ${unique('b1')}`;
  const owner = await newPage(browser);
  await signIn(owner.page, 'instructor', teacher);
  await owner.page.goto('/leaderboards');
  const classes = owner.page.getByTestId('classes');
  await classes.getByText('No classes yet').waitFor();
  await classes.getByLabel('Class name').fill(className);
  await classes.getByRole('button', { name: 'Create class' }).click();
  await owner.page.getByRole('heading', { name: className }).waitFor();
  const code = (await owner.page.getByTestId('join-code').innerText()).trim();
  assert.match(code, /^[A-Za-z0-9]{16}$/);
  await owner.page.getByText('Nobody has joined this class yet.').waitFor();
  assert.deepEqual(await accessibilityViolations(owner.page), []);
  await screenshot(owner.page, 'class-created');

  // A member who hides from leaderboards, and one who does not; both earn tokens.
  const admin = await token('admin', unique('admin'));
  const hidden = unique('hidden');
  const hiddenName = `Secret ${unique('name')}`;
  const hiddenBearer = await token('student', hidden);
  const privacy = await api('PUT', '/api/users/me/privacy', hiddenBearer, { hideFromLeaderboards: true, displayName: hiddenName });
  assert.equal(privacy.status, 200, JSON.stringify(privacy.body));
  const joined = await api('POST', '/api/classes/join', hiddenBearer, { joinCode: code.toLowerCase() });
  assert.equal(joined.status, 201, JSON.stringify(joined.body));
  await award(admin, hidden, 50);
  const learner = unique('learner');
  await award(admin, learner, 30);

  // The learner joins with the code (as typed, lower case and all) and sees the board.
  const member = await newPage(browser);
  await signIn(member.page, 'student', learner);
  await member.page.goto('/leaderboards');
  await member.page.getByTestId('classes').getByLabel('Join code').fill(code.toLowerCase());
  await member.page.getByRole('button', { name: 'Join class' }).click();
  await member.page.getByRole('heading', { name: className }).waitFor();
  await member.page.getByText('2 members').waitFor();
  const rows = member.page.locator('ol.board li');
  await member.page.locator('ol.board li[data-me="true"]').filter({ hasText: '30' }).waitFor();
  assert.equal(await rows.count(), 2);
  const anonymous = member.page.locator('ol.board li[data-anonymous="true"]');
  assert.match(await anonymous.innerText(), /#1\s+Anonymous learner\s+50/);
  assert.equal(await member.page.getByTestId('join-code').count(), 0, 'only the owner sees the code');
  const text = await member.page.locator('main').innerText();
  assert.ok(!text.includes(hidden) && !text.includes(hiddenName), 'the hidden member is never named');
  assert.deepEqual(await accessibilityViolations(member.page), []);
  await screenshot(member.page, 'class-board-member');
  // It is listed on the leaderboards screen.
  await member.page.getByRole('link', { name: '← Leaderboards' }).click();
  await member.page.getByRole('list', { name: 'Your classes' }).getByRole('link', { name: className }).waitFor();
  // The hidden member joined through the API, never on this browser: the list comes from the API,
  // so it shows on any device; the owner sees the class as theirs.
  const elsewhere = await newPage(browser);
  await signIn(elsewhere.page, 'student', hidden);
  await elsewhere.page.goto('/leaderboards');
  const listed = elsewhere.page.getByRole('list', { name: 'Your classes' }).getByRole('listitem').filter({ hasText: className });
  await listed.getByText('joined · 2 members').waitFor();
  await owner.page.goto('/leaderboards');
  await owner.page.getByRole('list', { name: 'Your classes' }).getByRole('listitem').filter({ hasText: className }).getByText('yours').waitFor();
  await owner.page.getByRole('link', { name: className }).click();

  // The owner's board shows both, the hidden one anonymous.
  await owner.page.reload();
  await owner.page.getByText('2 members').waitFor();
  await owner.page.locator('ol.board li[data-anonymous="true"]').waitFor();
  assert.ok(!(await owner.page.locator('main').innerText()).includes(hiddenName));
  await screenshot(owner.page, 'class-board-owner');

  // Someone else cannot open the board, nor join with a wrong code.
  const classUrl = new URL(owner.page.url()).pathname;
  const stranger = await newPage(browser);
  await signIn(stranger.page, 'student', unique('stranger'));
  await stranger.page.goto(classUrl);
  await stranger.page.locator('[role="alert"][data-code="not_found"]').waitFor();
  await stranger.page.goto('/leaderboards');
  await stranger.page.getByTestId('classes').getByLabel('Join code').fill('AAAABBBBCCCCDDDD');
  await stranger.page.getByRole('button', { name: 'Join class' }).click();
  await stranger.page.getByTestId('classes').locator('[role="alert"][data-code="not_found"]').waitFor();

  assert.deepEqual(owner.problems, []);
  assert.deepEqual(member.problems, []);
  assert.deepEqual(elsewhere.problems, []);
  assert.ok(stranger.problems.every((p) => p.startsWith('404 ')), stranger.problems.join(', '));
});
