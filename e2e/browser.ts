// Shared harness for the browser tests: Debian's Chromium driven by playwright-core, headless.
import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const appUrl = process.env.KUBECHART_APP_URL ?? 'http://localhost:3000';
export const backendUrl =
  process.env.KUBECHART_BACKEND_URL ?? 'http://localhost:7007';
export const screenshotDir = join(import.meta.dirname, '..', 'e2e-screenshots');

/** A browser console message (error or warning) or uncaught page error seen during the suite. */
export type ConsoleProblem = { url: string; type: string; text: string };

/** Every console error and warning of every page of the suite, in order (see watchConsole). */
export const consoleProblems: ConsoleProblem[] = [];

/** Paths of the screens our plugins draw (beside the entity tabs, matched by ourConsoleProblems). */
const OUR_PATHS = [
  /^\/audit-log/,
  /^\/kube-assistant/,
  /^\/kubechart\//,
  /\/deployment-history/,
];

/**
 * The console problems our plugins caused: messages whose text or component stack names our
 * packages, and the table/key warnings React and material-table print (without naming the
 * component) on one of our screens.
 */
export function ourConsoleProblems(
  problems: ConsoleProblem[] = consoleProblems,
): ConsoleProblem[] {
  return problems.filter(p => {
    // Not ours although the component stack passes through our components: the dev server's hot
    // reload messages, and React 18's deprecation notes about material-table, react-beautiful-dnd
    // and MUI v4 internals (Backstage's Table and Tooltip), which we cannot change.
    if (
      /^\[HMR\]|Support for defaultProps will be removed|findDOMNode is deprecated/.test(
        p.text,
      )
    ) {
      return false;
    }
    if (/plugins\/(kubechart|assistant|audit-log)|@kubechart\//.test(p.text)) {
      return true;
    }
    const path = new URL(p.url, appUrl).pathname;
    return (
      /unique id property|unique "key" prop/.test(p.text) &&
      OUR_PATHS.some(re => re.test(path))
    );
  });
}

function watchConsole(page: Page) {
  page.on('console', msg => {
    if (msg.type() === 'error' || msg.type() === 'warning') {
      consoleProblems.push({
        url: page.url(),
        type: msg.type(),
        text: msg.text(),
      });
    }
  });
  page.on('pageerror', error => {
    consoleProblems.push({
      url: page.url(),
      type: 'pageerror',
      text: `${error.message}\n${error.stack ?? ''}`,
    });
  });
}

export async function launchBrowser(): Promise<Browser> {
  const browser = await launchChromium();
  // Every page of every test file reports its console problems (checked at the end of the suite).
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async options => {
    const page = await newPage(options);
    watchConsole(page);
    return page;
  };
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async options => {
    const context = await newContext(options);
    context.on('page', watchConsole);
    return context;
  };
  return browser;
}

async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens the app and signs in as the guest user when the sign-in page asks for it. */
export async function openSignedIn(
  browser: Browser,
  path = '/',
): Promise<Page> {
  const page = await browser.newPage({
    viewport: { width: 1440, height: 1000 },
  });
  await gotoSignedIn(page, path);
  return page;
}

/** Loads a path of the app, signing in as the guest user when the sign-in page asks for it. */
export async function gotoSignedIn(page: Page, path: string): Promise<void> {
  await page.goto(new URL(path, appUrl).toString());
  // Either the sign-in page (a fresh browser) or the app (signed in before) appears.
  const guest = page.getByRole('button', { name: /enter/i });
  const app = page.getByRole('link', { name: 'Home' });
  await guest.or(app).first().waitFor({ state: 'visible', timeout: 60_000 });
  if (await guest.isVisible()) {
    await guest.click();
    // As long as the first page may take: the first sign-in of a run loads the app's routes, which
    // took more than 30 s while a test run used both cores.
    await app.first().waitFor({ state: 'visible', timeout: 60_000 });
  }
}

/**
 * A browser session of another example user (`user:default/reviewer`): the app's guest sign-in is
 * answered with that user's sign-in through the example backend's development-only `example-users`
 * provider (packages/backend/src/exampleUsersAuth.ts), so the session holds a real Backstage token
 * of that user, with the groups the catalog gives it.
 */
export async function openSignedInAs(
  browser: Browser,
  userEntityRef: string,
  path = '/',
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 1000 },
  });
  await context.route('**/api/auth/guest/refresh**', async route => {
    const res = await fetch(`${backendUrl}/api/auth/example-users/refresh`, {
      headers: {
        'X-Requested-With': 'XMLHttpRequest',
        'x-kubechart-example-user': userEntityRef,
      },
    });
    await route.fulfill({
      status: res.status,
      contentType: 'application/json',
      body: await res.text(),
    });
  });
  const page = await context.newPage();
  await gotoSignedIn(page, path);
  return page;
}

/** A Backstage user token for the example's guest, as the app itself gets it when signing in. */
export async function guestToken(): Promise<string> {
  const res = await fetch(`${backendUrl}/api/auth/guest/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  if (res.status !== 200) {
    throw new Error(`guest sign-in answered ${res.status}`);
  }
  const body = (await res.json()) as { backstageIdentity: { token: string } };
  return body.backstageIdentity.token;
}

/**
 * Every log line of the scaffolder task a task page (`/create/tasks/<id>`) shows, as the scaffolder
 * stored them: the task page's log view renders only the lines in view.
 */
export async function scaffolderTaskLog(page: Page): Promise<string> {
  const taskId = /\/create\/tasks\/([^/?#]+)/.exec(page.url())?.[1];
  if (!taskId) throw new Error(`not a task page: ${page.url()}`);
  const res = await fetch(
    `${backendUrl}/api/scaffolder/v2/tasks/${taskId}/events`,
    { headers: { Authorization: `Bearer ${await guestToken()}` } },
  );
  if (res.status !== 200) {
    throw new Error(`task events answered ${res.status}`);
  }
  const events = (await res.json()) as Array<{
    type: string;
    body?: { message?: string };
  }>;
  return events
    .filter(e => e.type === 'log')
    .map(e => e.body?.message ?? '')
    .join('\n');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Waits until a scaffolder task page shows how the task ended: the template's output links when it
 * succeeded, an error banner when it failed.
 */
export async function waitForTaskEnd(page: Page): Promise<void> {
  await page
    .getByText(/Open the tenant|Deployment history|^Error: /)
    .first()
    .waitFor({ timeout: 5 * 60_000 });
}

/** Opens the tenant template and fills its first step: code, display name, platform-team as owner. */
export async function fillTenantFirstStep(
  page: Page,
  code: string,
  displayName: string,
): Promise<void> {
  await gotoSignedIn(page, '/create/templates/default/kubechart-tenant');
  await page.locator('#root_code').waitFor({ timeout: 60_000 });
  await page.locator('#root_code').fill(code);
  await page.locator('#root_displayName').fill(displayName);
  await page.locator('#root_owner').click();
  await page.locator('#root_owner').fill('platform');
  await page.getByRole('option', { name: /platform-team/ }).click();
}
