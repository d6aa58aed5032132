// Prints the gzipped size of the JavaScript that index.html loads first and fails the build over
// the budget (issue #13: under 200 KB), so a heavy dependency is noticed when it is added.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET_BYTES = 200 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const scripts = [...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g)].map((m) => m[1]);
const preloads = [...html.matchAll(/<link rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g)].map((m) => m[1]);
let total = 0;
for (const file of [...scripts, ...preloads]) total += gzipSync(readFileSync(join(dist, file))).length;
const kb = (total / 1024).toFixed(1);
console.log(`initial JavaScript: ${kb} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`);
// The rest is loaded on demand (e.g. the API reference's viewer) and is not part of the budget.
const initial = new Set([...scripts, ...preloads]);
for (const file of readdirSync(join(dist, 'assets'))) {
  const path = `assets/${file}`;
  if (file.endsWith('.js') && !initial.has(path)) {
    console.log(`  loaded on demand: ${path} ${(gzipSync(readFileSync(join(dist, path))).length / 1024).toFixed(1)} KB gzipped`);
  }
}
if (scripts.length === 0 || total > BUDGET_BYTES) {
  console.error(scripts.length === 0 ? 'no script found in dist/index.html' : `over budget: ${kb} KB`);
  process.exit(1);
}
