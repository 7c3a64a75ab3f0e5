import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSignedIn, screenshot } from './browser.ts';

describe('audit log', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  // Runs after tenant.e2e.ts (see suite.test.ts), whose scaffolder runs are in the trail.
  test('the audit log filters to scaffolder events, shows one, verifies the chain and exports CSV', async () => {
    const page = await openSignedIn(browser, '/audit-log');
    await page
      .getByRole('button', { name: /verify integrity/i })
      .waitFor({ timeout: 60_000 });

    await page.getByLabel('Plugin', { exact: true }).fill('scaffolder');
    const rows = page.getByRole('row').filter({ hasText: 'scaffolder' });
    await rows.first().waitFor({ timeout: 30_000 });
    // Every row left is a scaffolder event.
    await page.waitForTimeout(1_000);
    const bodyRows = page.locator('tbody tr');
    const count = await bodyRows.count();
    assert.ok(count > 0);
    for (let i = 0; i < count; i++) {
      assert.match(await bodyRows.nth(i).innerText(), /scaffolder/);
    }

    await bodyRows.first().click();
    const drawer = page.getByText(/^Event \d+$/).first();
    await drawer.waitFor({ timeout: 15_000 });
    await screenshot(page, 'audit-1-event');
    await page.keyboard.press('Escape');

    await page.getByRole('button', { name: /verify integrity/i }).click();
    await page
      .getByText(/Chain intact/i)
      .first()
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'audit-2-verified');

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      page.getByRole('button', { name: /export csv/i }).click(),
    ]);
    const csv = await readFile((await download.path())!, 'utf8');
    const [header, ...records] = parseCsv(csv);
    assert.deepEqual(header.slice(0, 4), [
      'seq',
      'occurredAt',
      'actor',
      'plugin',
    ]);
    assert.ok(records.length > 0, 'the export has the filtered events');
    assert.ok(
      records.every(r => r[3] === 'scaffolder'),
      'the export honours the filter',
    );
  });
});

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
