import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityEvent, startStack, token } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let stack: Awaited<ReturnType<typeof startStack>>;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  stack = await startStack('browser', {}, 1);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('live page in a real browser', () => {
  it('when an event is published to Kafka, it appears on the page', async () => {
    const user = 81;
    const page = await browser.newPage();
    await page.goto(`${stack.http()}/demo#user=${user}&token=${await token(String(user))}`);
    await page.getByText('Live.').waitFor({ timeout: 20_000 });
    const event = activityEvent(user, undefined, { verb: 'celebrated' });
    await stack.publisher.publish(event);
    const item = page.locator(`li[data-activity-id="${event.id}"]`);
    await item.waitFor({ timeout: 20_000 });
    expect(await item.textContent()).toContain(`user ${user} celebrated doc`);
    await page.close();
  });
});
