import { Router } from 'express';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Live activity</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #1d1d1f; }
  textarea, input { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; margin: .2rem 0 .8rem; }
  button { font: inherit; padding: .4rem 1rem; }
  #status { margin: 1rem 0; color: #555; }
  #feed { list-style: none; padding: 0; }
  #feed li { border-bottom: 1px solid #e5e5e5; padding: .5rem 0; }
  #feed time { color: #777; font-size: 85%; margin-left: .5rem; }
</style>
</head>
<body>
<h1>Live activity</h1>
<form id="connect">
  <label>Token (from <code>npm run token -- --sub 42</code>)<textarea id="token" rows="3" required></textarea></label>
  <label>User id<input id="user" type="number" min="1" required></label>
  <button type="submit">Connect</button>
</form>
<div id="status" role="status">Not connected.</div>
<ul id="feed" aria-live="polite"></ul>
<script src="/demo/stream-client.js"></script>
<script>
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get('token')) document.getElementById('token').value = params.get('token');
  if (params.get('user')) document.getElementById('user').value = params.get('user');
  let stream;
  const status = (text) => (document.getElementById('status').textContent = text);
  function connect() {
    stream?.close();
    const feed = document.getElementById('feed');
    feed.replaceChildren();
    stream = new SuiteStream.ActivityStreamClient(
      { baseUrl: location.origin, userId: Number(document.getElementById('user').value), token: document.getElementById('token').value.trim() },
      {
        activity(activity) {
          const li = document.createElement('li');
          li.dataset.activityId = activity.id;
          li.textContent = 'user ' + activity.actorId + ' ' + activity.verb + ' ' + activity.object.type + ' ' + activity.object.id + ' in workspace ' + activity.workspaceId;
          const time = document.createElement('time');
          time.dateTime = activity.time;
          time.textContent = new Date(activity.time).toLocaleString();
          li.append(time);
          feed.prepend(li);
        },
        ready: () => status('Live.'),
        reset: (reason) => status('Reset: ' + reason),
        close: (code, reason, again) => status('Closed (' + code + (reason ? ', ' + reason : '') + ')' + (again ? '; reconnecting…' : '.')),
      },
    ).start();
    status('Connecting…');
  }
  document.getElementById('connect').addEventListener('submit', (e) => { e.preventDefault(); connect(); });
  if (params.get('token') && params.get('user')) connect();
</script>
</body>
</html>`;

let bundle: Promise<string> | undefined;

/** The stream-client entry: its TypeScript source in the repository, its build in an image. */
function clientEntry(): string {
  const dir = dirname(createRequire(import.meta.url).resolve('@suite/stream-client/package.json'));
  const source = join(dir, 'src', 'index.ts');
  return existsSync(source) ? source : join(dir, 'dist', 'index.js');
}

/** The stream-client package bundled for browsers, built once per process. */
function clientBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [clientEntry()],
    bundle: true,
    format: 'iife',
    globalName: 'SuiteStream',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    conditions: ['source'],
  }).then((result) => result.outputFiles[0]!.text);
  return bundle;
}

/** A live page built on stream-client: paste a token, watch a user's stream. */
export function demoRouter(): Router {
  const router = Router();
  router.get(['/demo', '/demo/'], (_req, res) => {
    res.type('html').set('cache-control', 'no-store').send(PAGE);
  });
  router.get('/demo/stream-client.js', async (_req, res) => {
    res.type('application/javascript').send(await clientBundle());
  });
  return router;
}
