// Copies the main screens from the browser journeys' screenshots (target/web-screens, full size)
// into docs/screens at half size, top of the page only, for the README. Uses the same Chromium
// as the journeys: `node scripts/readme-screens.js` after `infra/scripts/browser-test.sh`.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const from = process.env.AZORA_SCREENS_DIR ?? join(root, 'target', 'web-screens');
const to = join(root, 'docs', 'screens');
/** [screenshot of a journey, name in docs/screens, height kept (CSS px of 1280 wide), from the top or the bottom] */
const SCREENS = [
  ['screen-student-courses', 'catalog', 760],
  ['plans-yearly', 'plans', 900],
  ['billing-past-due', 'billing-past-due', 760],
  ['class-board-member', 'class-board', 420],
  ['instructor-earnings-chart', 'instructor-earnings', 740],
  ['enterprise-usage-chart', 'enterprise-usage', 600, 'bottom'],
  ['white-label-dns-record', 'white-label', 1120],
  ['quote-priced', 'enterprise-quote', 500],
  ['support-ticket-answered', 'support-ticket', 660],
  ['api-docs', 'api-reference', 900],
];

mkdirSync(to, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 640, height: 600 } });
for (const [source, name, height, from_ = 'top'] of SCREENS) {
  const png = readFileSync(join(from, `${source}.png`)).toString('base64');
  const align = from_ === 'bottom' ? 'flex-end' : 'flex-start';
  await page.setContent(
    `<body style="margin:0"><div style="width:640px;height:${height / 2}px;overflow:hidden;display:flex;flex-direction:column;justify-content:${align}">` +
      `<img style="width:640px;display:block;flex:none" src="data:image/png;base64,${png}"></div></body>`,
  );
  await page.locator('div').screenshot({ path: join(to, `${name}.png`) });
  console.log(`docs/screens/${name}.png`);
}
await browser.close();
