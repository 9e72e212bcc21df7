// The /demo console: one user's feed (history, then live on top), count, active workspaces, the
// stream's connection state, and a form that publishes a test activity. Plain browser JavaScript on
// the REST API and stream-client (window.SuiteStream); everything user-supplied goes in as text.
'use strict';

const $ = (id) => document.getElementById(id);
const api = `${location.origin}/api/v1`;
const fragment = new URLSearchParams(location.hash.slice(1));
const settings = {
  user: fragment.get('user'),
  token: fragment.get('token'),
  publisher: fragment.get('publisher'),
};
let stream;
let older;
let reconnects = 0;
let sessionStart = 0;
const shown = new Set();

function log(text) {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(item);
}

function setState(state, text) {
  $('state').dataset.state = state;
  $('state').textContent = text;
}

async function call(path, options = {}) {
  const token = options.token ?? settings.token;
  const res = await fetch(`${api}${path}`, {
    ...options,
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(`${res.status}: ${body?.error?.message ?? res.statusText}`);
  return body;
}

/** One feed entry; live ones are marked new and go on top, history goes below. */
function addActivity(activity, live) {
  if (shown.has(activity.id)) return false;
  shown.add(activity.id);
  const item = document.createElement('li');
  item.dataset.activityId = activity.id;
  if (live) {
    item.className = 'new';
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'new';
    item.append(badge);
  }
  const target = activity.target ? ` on ${activity.target.type} ${activity.target.id}` : '';
  item.append(
    `user ${activity.actorId} ${activity.verb} ${activity.object.type} ${activity.object.id}${target} in workspace ${activity.workspaceId}`,
  );
  const time = document.createElement('time');
  time.dateTime = activity.time;
  time.textContent = new Date(activity.time).toLocaleString();
  item.append(time);
  if (live) $('feed').prepend(item);
  else $('feed').append(item);
  return true;
}

async function loadPage(path) {
  const page = await call(path);
  for (const activity of page.results) addActivity(activity, false);
  older = page.next
    ? new URL(page.next).pathname.replace('/api/v1', '') + new URL(page.next).search
    : undefined;
  $('older').hidden = !older;
}

async function loadSummary() {
  const { count } = await call(`/users/${settings.user}/activity-count`);
  $('count').textContent = String(count);
  const rows = await call(`/users/${settings.user}/active-workspaces?days=30`);
  const body = $('workspaces').tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const text of [
      row.workspace.name,
      row.role,
      new Date(row.lastActiveAt).toLocaleString(),
      String(row.activityCount),
    ])
      tr.insertCell().textContent = text;
  }
  if (rows.length === 0) body.insertRow().insertCell().textContent = 'None in the last 30 days.';
}

// ---- the inbox: the badge is the counts of the newest stream message; marks go through the API ----
let inboxCursor;

function setCounts(counts) {
  $('badge').textContent = String(counts.unseen);
  $('unseen').textContent = String(counts.unseen);
  $('unread').textContent = String(counts.unread);
  $('total').textContent = String(counts.total);
}

async function mark(action, body) {
  try {
    const answer = await call(`/users/${settings.user}/notifications/${action}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    if (!answer.pending) setCounts(answer);
  } catch (err) {
    log(`mark ${action} failed: ${err.message}`);
  }
}

function addNotification(notification, live) {
  const item = document.createElement('li');
  item.dataset.notificationId = notification.id;
  if (!notification.read) item.className = 'new';
  const a = notification.activity;
  item.append(
    `user ${a.actorId} ${a.verb} ${a.object.type} ${a.object.id} in workspace ${notification.workspaceId}${notification.read ? '' : ' (unread)'}`,
  );
  const read = document.createElement('button');
  read.type = 'button';
  read.textContent = notification.read ? 'Mark unread' : 'Mark read';
  read.addEventListener(
    'click',
    () => void mark(notification.read ? 'unread' : 'read', { ids: [notification.id] }),
  );
  const archive = document.createElement('button');
  archive.type = 'button';
  archive.textContent = 'Archive';
  archive.addEventListener('click', () => void mark('archive', { ids: [notification.id] }));
  item.append(' ', read, ' ', archive);
  if (live) $('inbox').prepend(item);
  else $('inbox').append(item);
}

async function loadInbox() {
  const page = await call(`/users/${settings.user}/notifications?limit=20`);
  $('inbox').replaceChildren();
  for (const notification of page.results) addNotification(notification, false);
  setCounts(page.counts);
  inboxCursor = page.cursor;
}

function connect() {
  stream?.close();
  reconnects = 0;
  $('reconnects').textContent = '0';
  setState('connecting', 'Connecting…');
  stream = new SuiteStream.ActivityStreamClient(
    {
      baseUrl: location.origin,
      userId: Number(settings.user),
      token: settings.token,
      channels: ['activity', 'inbox'],
    },
    {
      notification(notification, counts) {
        addNotification(notification, true);
        setCounts(counts);
        // A mark covers what this page has shown, up to here: never what arrives while it is sent.
        inboxCursor = notification.cursor;
      },
      inboxState(state) {
        setCounts(state.counts);
        inboxCursor = state.inboxCursor;
        // A mark from any device (or entries missed for good) changes items already shown: read the list again.
        if (state.mark || state.gap) void loadInbox().catch((err) => log(`inbox: ${err.message}`));
        if (state.mark)
          log(
            `inbox: ${state.mark.action}${state.mark.ids ? ` ${state.mark.ids.length} item(s)` : ' all'}`,
          );
      },
      activity(activity, cursor) {
        $('cursor').textContent = cursor;
        if (addActivity(activity, true))
          $('count').textContent = String(Number($('count').textContent || 0) + 1);
      },
      ready(cursor) {
        sessionStart = Date.now();
        setState('live', 'Live.');
        $('cursor').textContent = cursor ?? '—';
        log(
          reconnects === 0
            ? `connected, live from ${cursor}`
            : `reconnected, resumed after ${cursor}`,
        );
        $('reconnect').disabled = false;
      },
      reset(reason) {
        log(`reset (${reason}): reloading the history`);
        void refresh();
      },
      close(code, reason, again) {
        if (again) {
          reconnects += 1;
          $('reconnects').textContent = String(reconnects);
          setState(
            'reconnecting',
            `Disconnected (${code}${reason ? `, ${reason}` : ''}); reconnecting…`,
          );
        } else {
          setState('closed', `Closed (${code}${reason ? `, ${reason}` : ''}).`);
        }
        log(
          `closed ${code}${reason ? ` (${reason})` : ''}${again ? `, reconnecting after ${Math.round((Date.now() - sessionStart) / 1000)} s live` : ''}`,
        );
      },
      error: (message) => log(`error: ${message}`),
    },
  ).start();
}

async function refresh() {
  shown.clear();
  $('feed').replaceChildren();
  await Promise.all([
    loadPage(`/users/${settings.user}/activities?limit=20`),
    loadSummary(),
    loadInbox(),
  ]);
}

async function open() {
  $('who').textContent = `User ${settings.user}`;
  $('settings').open = false;
  try {
    // Live first, so nothing published while the history loads is missed; duplicates are skipped by id.
    connect();
    await refresh();
  } catch (err) {
    setState('closed', `Could not load: ${err.message}`);
  }
}

/** The `sub` of a token, to publish as its own source (`/<sub>/demo`); decoded locally, not verified. */
function subjectOf(token) {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub;
  } catch {
    return undefined;
  }
}

$('connect').addEventListener('submit', (event) => {
  event.preventDefault();
  Object.assign(settings, {
    user: $('user').value,
    token: $('token').value.trim(),
    publisher: $('publisher').value.trim(),
  });
  void open();
});
$('older').addEventListener('click', () => older && void loadPage(older));
$('bell').addEventListener(
  'click',
  () => void mark('seen', inboxCursor ? { upTo: inboxCursor } : {}),
);
$('read-all').addEventListener(
  'click',
  () => void mark('read', { all: true, ...(inboxCursor ? { upTo: inboxCursor } : {}) }),
);
$('reconnect').addEventListener('click', () => {
  log('dropping the connection on purpose');
  stream?.reconnect();
});
$('publish').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = settings.publisher || settings.token;
  const id = `demo-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const body = {
    specversion: '1.0',
    id,
    source: `/${subjectOf(token) ?? 'demo'}/demo`,
    type: 'io.activitysuite.activity.recorded',
    time: new Date().toISOString(),
    subject: String(settings.user),
    data: {
      actorId: Number(settings.user),
      verb: $('verb').value,
      object: { type: $('object-type').value, id: $('object-id').value },
      workspaceId: Number($('workspace').value),
    },
  };
  const notify = $('notify')
    .value.split(',')
    .map((v) => Number(v.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  if (notify.length > 0)
    body.data.notify = { users: notify, includeActor: notify.includes(Number(settings.user)) };
  try {
    await call('/activities', { method: 'POST', body: JSON.stringify(body), token });
    $('published').textContent = `Published ${id}; it arrives on top of the feed through Kafka.`;
  } catch (err) {
    $('published').textContent = `Not published: ${err.message}`;
  }
});

$('user').value = settings.user ?? '';
$('token').value = settings.token ?? '';
$('publisher').value = settings.publisher ?? '';
if (settings.user && settings.token) void open();
else $('settings').open = true;
