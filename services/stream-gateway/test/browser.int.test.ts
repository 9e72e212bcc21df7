import { existsSync, mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '@suite/auth';
import { eventually, signedUsersRecord, testProducer, usersEvent } from '@suite/testkit';
import { createEdge } from '../../../scripts/edge.js';
import { activityEvent, secret, startStack, token } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let stack: Awaited<ReturnType<typeof startStack>>;
let browser: Browser;
let edge: Server;
let origin: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  stack = await startStack('browser', {}, 1);
  // One origin, as `npm start` serves it: the console's REST calls reach the activity-service.
  const port = (url: string) => Number(new URL(url).port);
  edge = createEdge(
    {
      users: port(stack.activityUrl),
      activity: port(stack.activityUrl),
      gateway: port(stack.http()),
    },
    () => undefined,
  );
  await new Promise<void>((ok) => edge.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => edge?.close(ok));
  await stack?.stop();
});

const feedIds = (page: Page) =>
  page
    .locator('#feed li')
    .evaluateAll((items) => items.map((li) => li.getAttribute('data-activity-id')!));

describe('the /demo console in a real browser', () => {
  it('when the console opens, then it shows history, count and active workspaces; a new activity appears on top, and a forced reconnect resumes without a gap', async () => {
    const user = 82;
    // History: 25 activities in workspace 5, which the access replica names.
    const producer = await testProducer(stack.infra.kafkaBrokers, 'console-test');
    const access = usersEvent('user.access-changed', user, {
      userId: user,
      version: 1,
      workspaces: [{ workspaceId: 5, name: 'Design', role: 'member' }],
    });
    await producer.send({
      topic: `${stack.names.topicPrefix}users.events`,
      acks: -1,
      messages: [signedUsersRecord(access)],
    });
    await producer.disconnect();
    const history = Array.from({ length: 25 }, () =>
      activityEvent(user, undefined, { workspaceId: 5 }),
    );
    await stack.publisher.publish(history);
    const userToken = await token(String(user));
    await eventually(async () => {
      const res = await fetch(`${origin}/api/v1/users/${user}/activity-count`, {
        headers: { authorization: `Bearer ${userToken}` },
      });
      return res.ok && ((await res.json()) as { count: number }).count === 25 ? true : undefined;
    }, 30_000);

    const page = await browser.newPage();
    const publisher = await signDevToken(secret, { sub: 'console', scopes: ['activity:write'] });
    await page.goto(`${origin}/demo#user=${user}&token=${userToken}&publisher=${publisher}`);
    await page.getByText('Live.').waitFor({ timeout: 20_000 });
    await expect.poll(() => page.locator('#count').textContent(), { timeout: 10_000 }).toBe('25');
    await expect.poll(() => page.locator('#feed li').count(), { timeout: 10_000 }).toBe(20);
    // Newest first: the history's last event (the latest time) on top.
    expect((await feedIds(page))[0]).toBe(history.at(-1)!.id);
    await page.getByRole('button', { name: 'Load older' }).click();
    await expect.poll(() => page.locator('#feed li').count()).toBe(25);
    expect(new Set(await feedIds(page))).toEqual(new Set(history.map((e) => e.id)));
    await expect.poll(() => page.locator('#workspaces tbody').textContent()).toContain('Design');

    // Publish from the page's own form: it comes back through Kafka and the stream, on top, marked new.
    await page.getByLabel('Verb').fill('celebrated');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.locator('#feed li.new').first().waitFor({ timeout: 20_000 });
    expect(await page.locator('#feed li').first().textContent()).toContain(
      `user ${user} celebrated document 1`,
    );
    await expect.poll(() => page.locator('#count').textContent()).toBe('26');

    // Drop the connection and publish while it is down: every activity arrives once, in order, after the resume.
    await page.getByRole('button', { name: 'Drop and resume' }).click();
    const during = Array.from({ length: 3 }, () => activityEvent(user, new Date().toISOString()));
    await stack.publisher.publish(during);
    await expect
      .poll(() => page.locator('#reconnects').textContent(), { timeout: 10_000 })
      .toBe('1');
    await page.getByText('Live.').waitFor({ timeout: 20_000 });
    await expect
      .poll(async () => (await feedIds(page)).slice(0, 3), { timeout: 20_000 })
      .toEqual(during.map((e) => e.id).reverse());
    const ids = await feedIds(page);
    expect(ids).toHaveLength(new Set(ids).size);
    expect(ids).toHaveLength(29);
    expect(await page.locator('#log').textContent()).toContain('resumed after');
    await expect.poll(() => page.locator('#count').textContent()).toBe('29');

    const shot = join(mkdtempSync(join(tmpdir(), 'console-')), 'demo-console.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`console screenshot: ${shot}`);
    await page.close();
  });

  it('when a notification arrives, then the badge rises on every open page, and a mark on one page reaches the other', async () => {
    const user = 83;
    const producer = await testProducer(stack.infra.kafkaBrokers, 'console-inbox-test');
    const access = usersEvent('user.access-changed', user, {
      userId: user,
      version: 1,
      workspaces: [{ workspaceId: 5, name: 'Design', role: 'member' }],
    });
    await producer.send({
      topic: `${stack.names.topicPrefix}users.events`,
      acks: -1,
      messages: [signedUsersRecord(access)],
    });
    await producer.disconnect();
    const userToken = await token(String(user));
    const publisher = await signDevToken(secret, { sub: 'console', scopes: ['activity:write'] });
    const open = async () => {
      const page = await browser.newPage();
      await page.goto(`${origin}/demo#user=${user}&token=${userToken}&publisher=${publisher}`);
      await page.getByText('Live.').waitFor({ timeout: 20_000 });
      return page;
    };
    const [a, b] = [await open(), await open()];
    // The access change is applied before the notification is routed: publish until one arrives.
    await expect
      .poll(
        async () => {
          await a.getByLabel('Workspace id').fill('5');
          await a.getByLabel(/Notify users/).fill(String(user));
          await a.getByRole('button', { name: 'Publish' }).click();
          return Number(await a.locator('#badge').textContent());
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    await expect.poll(() => b.locator('#badge').textContent(), { timeout: 10_000 }).not.toBe('0');
    expect(await b.locator('#inbox li').count()).toBeGreaterThan(0);
    await a.getByRole('button', { name: 'Mark all read' }).click();
    await expect.poll(() => b.locator('#unread').textContent(), { timeout: 10_000 }).toBe('0');
    await expect.poll(() => b.locator('#badge').textContent(), { timeout: 10_000 }).toBe('0');
    await a.close();
    await b.close();
  });
});
