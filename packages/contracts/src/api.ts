import { z } from 'zod';
import {
  ActiveWorkspace,
  ActiveWorkspacesQuery,
  ActivityBatch,
  ActivityCount,
  ActivityEvent,
  ActivityIngestAccepted,
  ActivityPage,
  ActivityPageQuery,
} from './activity.js';
import { ErrorBody, type ErrorCode } from './errors.js';
import {
  MarkBody,
  MarkResult,
  NotificationCounts,
  NotificationCountsQuery,
  NotificationPage,
  NotificationsQuery,
  SeenBody,
} from './inbox.js';
import { IdParam, queryIntegerBounds } from './params.js';
import { STREAM_CURSOR } from './projection-layout.js';
import { STREAM_SUBPROTOCOL, StreamMessage } from './stream.js';
import {
  AdminReplaceUserBody,
  CreateUserBody,
  EffectiveWorkspace,
  Group,
  GroupBody,
  GroupMemberBody,
  PageQuery,
  PatchUserBody,
  Permission,
  PermissionBody,
  SearchQuery,
  User,
  UserCursorPage,
  UserListQuery,
  UserProfile,
  Workspace,
  WorkspaceBody,
  paginated,
} from './users.js';

/** An `If-Match` value (RFC 9110 §13.1.1): `*`, or a comma-separated list of entity tags. */
export const IF_MATCH =
  /^\s*(?:\*|(?:W\/)?"[\x21\x23-\x7e]*"(?:\s*,\s*(?:W\/)?"[\x21\x23-\x7e]*")*)\s*$/;
/** One entity tag of an `If-Match` list: its weak mark and its opaque text. */
export const ENTITY_TAG = /(W\/)?"([\x21\x23-\x7e]*)"/g;

/** Every public route lives under this prefix on the one origin. */
export const API_PREFIX = '/api/v1';

export type ApiService = 'users' | 'activity' | 'gateway';
export type ApiMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** Who may call a route. */
export type ApiAccess =
  'anyone' | 'any user' | 'the user or an admin' | 'admin' | 'scope activity:write';

export interface ApiRoute {
  readonly service: ApiService;
  readonly method: ApiMethod;
  /** OpenAPI path template below `API_PREFIX`, e.g. `/users/{id}`. */
  readonly path: string;
  readonly summary: string;
  readonly access: ApiAccess;
  /** The budget the route spends from (`RateClass`). */
  readonly rate: RateClass;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The success status and its body (`null`: no body). */
  readonly ok: readonly [number, z.ZodType | null];
  /** A second success: 202 and its body, when the work was accepted but not yet done within the route's wait. */
  readonly accepted?: z.ZodType;
  /** Error statuses beyond the ones every route of its kind can answer. */
  readonly errors?: readonly number[];
  /**
   * The resource carries a version: `read` answers with its `ETag`; `write` also takes
   * `If-Match` and answers 412 when the resource has changed since that version.
   */
  readonly versioned?: 'read' | 'write';
}

/** The query of a route that takes no parameters: any is refused (400 naming it). */
export const NoQuery = z.strictObject({});
const results = <T extends z.ZodType>(item: T) => z.object({ results: z.array(item) });
const OpenApiDocument = z.record(z.string(), z.unknown());

/** A stream cursor: where a client resumes (`ready` and `activity` messages carry it). */
export const StreamQuery = z.strictObject({
  cursor: z.string().regex(STREAM_CURSOR, 'not a cursor this API issued').optional(),
  channels: z
    .string()
    .regex(
      /^(?:activity|inbox)(?:,(?:activity|inbox))?$/,
      'activity, inbox, or both comma-separated',
    )
    .optional()
    .describe(
      'The channels of the stream (default `activity`): `activity,inbox` adds the notification inbox; every message then names its `channel`, and one cursor resumes both',
    ),
  access_token: z.string().max(8192).optional(),
});

/**
 * The one route table: the services register exactly these (`expressPath`), the edge routes by
 * them (`serviceFor`), `stream-client` builds its URL from them, and the OpenAPI document is
 * generated from them (`buildOpenApi`).
 */
export const ApiRoutes = {
  openApi: {
    service: 'users',
    method: 'get',
    path: '/openapi.json',
    summary: 'This API description (OpenAPI 3.1)',
    access: 'anyone',
    rate: 'read',
    query: NoQuery,
    ok: [200, OpenApiDocument],
  },

  listUsers: {
    service: 'users',
    method: 'get',
    path: '/users',
    summary:
      'List users by id: page numbers (with a count), or keyset cursors (`cursor=` to start; O(page) at any depth)',
    access: 'any user',
    rate: 'read',
    query: UserListQuery,
    ok: [200, z.union([paginated(User), UserCursorPage])],
    errors: [404],
  },
  createUser: {
    service: 'users',
    method: 'post',
    path: '/users',
    summary: 'Create a user',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    body: CreateUserBody,
    ok: [201, UserProfile],
    errors: [409],
  },
  searchUsers: {
    service: 'users',
    method: 'get',
    path: '/users/search',
    summary: 'Search users (exact, then prefix, then substring)',
    access: 'any user',
    rate: 'search',
    query: SearchQuery,
    ok: [200, paginated(User)],
    errors: [404],
  },
  getUser: {
    service: 'users',
    method: 'get',
    path: '/users/{id}',
    summary: 'Get a full profile',
    access: 'any user',
    rate: 'read',
    query: NoQuery,
    ok: [200, UserProfile],
    versioned: 'read',
  },
  replaceUser: {
    service: 'users',
    method: 'put',
    path: '/users/{id}',
    summary: 'Replace the writable fields (isActive and roles: admins only)',
    access: 'the user or an admin',
    rate: 'write',
    query: NoQuery,
    body: AdminReplaceUserBody,
    ok: [200, UserProfile],
    errors: [409],
    versioned: 'write',
  },
  patchUser: {
    service: 'users',
    method: 'patch',
    path: '/users/{id}',
    summary: 'Update some writable fields (isActive and roles: admins only)',
    access: 'the user or an admin',
    rate: 'write',
    query: NoQuery,
    body: PatchUserBody,
    ok: [200, UserProfile],
    errors: [409],
    versioned: 'write',
  },
  deleteUser: {
    service: 'users',
    method: 'delete',
    path: '/users/{id}',
    summary: 'Delete a user',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    ok: [204, null],
    versioned: 'write',
  },
  userWorkspaces: {
    service: 'users',
    method: 'get',
    path: '/users/{id}/workspaces',
    summary: "A user's effective workspaces",
    access: 'the user or an admin',
    rate: 'read',
    query: NoQuery,
    ok: [200, results(EffectiveWorkspace)],
  },

  createWorkspace: {
    service: 'users',
    method: 'post',
    path: '/workspaces',
    summary: 'Create a workspace',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    body: WorkspaceBody,
    ok: [201, Workspace],
  },
  listWorkspaces: {
    service: 'users',
    method: 'get',
    path: '/workspaces',
    summary: 'List workspaces',
    access: 'admin',
    rate: 'read',
    query: PageQuery,
    ok: [200, paginated(Workspace)],
    errors: [404],
  },
  getWorkspace: {
    service: 'users',
    method: 'get',
    path: '/workspaces/{id}',
    summary: 'Get a workspace',
    access: 'admin',
    rate: 'read',
    query: NoQuery,
    ok: [200, Workspace],
  },
  renameWorkspace: {
    service: 'users',
    method: 'patch',
    path: '/workspaces/{id}',
    summary: 'Rename a workspace',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    body: WorkspaceBody,
    ok: [200, Workspace],
  },
  deleteWorkspace: {
    service: 'users',
    method: 'delete',
    path: '/workspaces/{id}',
    summary: 'Delete a workspace',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    ok: [204, null],
  },
  grant: {
    service: 'users',
    method: 'post',
    path: '/workspaces/{id}/permissions',
    summary: 'Grant a role to a user or a group',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    body: PermissionBody,
    ok: [201, Permission],
    errors: [409],
  },
  listPermissions: {
    service: 'users',
    method: 'get',
    path: '/workspaces/{id}/permissions',
    summary: "A workspace's permissions",
    access: 'admin',
    rate: 'read',
    query: NoQuery,
    ok: [200, results(Permission)],
  },
  revoke: {
    service: 'users',
    method: 'delete',
    path: '/workspaces/{id}/permissions/{permissionId}',
    summary: 'Revoke a permission',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    ok: [204, null],
  },

  createGroup: {
    service: 'users',
    method: 'post',
    path: '/groups',
    summary: 'Create a group',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    body: GroupBody,
    ok: [201, Group],
    errors: [409],
  },
  listGroups: {
    service: 'users',
    method: 'get',
    path: '/groups',
    summary: 'List groups',
    access: 'admin',
    rate: 'read',
    query: PageQuery,
    ok: [200, paginated(Group)],
    errors: [404],
  },
  getGroup: {
    service: 'users',
    method: 'get',
    path: '/groups/{id}',
    summary: 'Get a group',
    access: 'admin',
    rate: 'read',
    query: NoQuery,
    ok: [200, Group],
  },
  deleteGroup: {
    service: 'users',
    method: 'delete',
    path: '/groups/{id}',
    summary: 'Delete a group',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    ok: [204, null],
  },
  addMember: {
    service: 'users',
    method: 'post',
    path: '/groups/{id}/members',
    summary: 'Add a member',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    body: GroupMemberBody,
    ok: [201, Group],
    errors: [409],
  },
  removeMember: {
    service: 'users',
    method: 'delete',
    path: '/groups/{id}/members/{userId}',
    summary: 'Remove a member',
    access: 'admin',
    rate: 'write',
    query: NoQuery,
    ok: [204, null],
  },

  activities: {
    service: 'activity',
    method: 'get',
    path: '/users/{id}/activities',
    summary: "A user's activities, newest first by event time (cursor-paged)",
    access: 'the user or an admin',
    rate: 'read',
    query: ActivityPageQuery,
    ok: [200, ActivityPage],
  },
  activityCount: {
    service: 'activity',
    method: 'get',
    path: '/users/{id}/activity-count',
    summary: "The exact number of a user's activities",
    access: 'the user or an admin',
    rate: 'read',
    query: NoQuery,
    ok: [200, ActivityCount],
  },
  activeWorkspaces: {
    service: 'activity',
    method: 'get',
    path: '/users/{id}/active-workspaces',
    summary:
      'Workspaces the user was active in within `days` (default 30) and can still reach, most recent first',
    access: 'the user or an admin',
    rate: 'read',
    query: ActiveWorkspacesQuery,
    ok: [200, z.array(ActiveWorkspace)],
  },
  publishActivities: {
    service: 'activity',
    method: 'post',
    path: '/activities',
    summary:
      'Publish activity events (CloudEvents: JSON, structured, batch or binary mode). Each `time` must lie within the accepted window around arrival (default 30 days before to 5 minutes after; else 400), and `source` must be `/<token sub>` or below it (else 403; admins: any)',
    access: 'scope activity:write',
    rate: 'ingest',
    query: NoQuery,
    body: z.union([ActivityEvent, ActivityBatch]),
    ok: [202, ActivityIngestAccepted],
    errors: [413, 415],
  },

  notifications: {
    service: 'activity',
    method: 'get',
    path: '/users/{id}/notifications',
    summary:
      "A user's notifications, newest first by arrival, with the counts and the inbox's cursor (a mark's `upTo`). `status`: all (default), unread, unseen; `archived`: exclude (default), include, only. A cursor from before a rebuild is 409",
    access: 'the user or an admin',
    rate: 'read',
    query: NotificationsQuery,
    ok: [200, NotificationPage],
    errors: [409],
  },
  notificationCounts: {
    service: 'activity',
    method: 'get',
    path: '/users/{id}/notification-counts',
    summary:
      'The exact counts of unseen, unread and kept notifications (not archived), for one workspace when asked',
    access: 'the user or an admin',
    rate: 'read',
    query: NotificationCountsQuery,
    ok: [200, NotificationCounts],
  },
  markSeen: {
    service: 'activity',
    method: 'post',
    path: '/users/{id}/notifications/seen',
    summary:
      'Move the seen watermark to `upTo` (default: everything delivered before the mark). Answers the new counts once applied, else 202 pending',
    access: 'the user or an admin',
    rate: 'write',
    query: NoQuery,
    body: SeenBody,
    ok: [200, MarkResult],
    accepted: MarkResult,
    errors: [409],
  },
  markRead: {
    service: 'activity',
    method: 'post',
    path: '/users/{id}/notifications/read',
    summary:
      'Mark notifications read: `ids`, or `all` up to `upTo` (default: everything delivered before the mark), of one workspace when given. Unknown ids come back in `ignored`',
    access: 'the user or an admin',
    rate: 'write',
    query: NoQuery,
    body: MarkBody,
    ok: [200, MarkResult],
    accepted: MarkResult,
    errors: [409],
  },
  markUnread: {
    service: 'activity',
    method: 'post',
    path: '/users/{id}/notifications/unread',
    summary: 'Mark notifications unread (as `read`)',
    access: 'the user or an admin',
    rate: 'write',
    query: NoQuery,
    body: MarkBody,
    ok: [200, MarkResult],
    accepted: MarkResult,
    errors: [409],
  },
  archive: {
    service: 'activity',
    method: 'post',
    path: '/users/{id}/notifications/archive',
    summary: 'Archive notifications: out of the default list and of every count (as `read`)',
    access: 'the user or an admin',
    rate: 'write',
    query: NoQuery,
    body: MarkBody,
    ok: [200, MarkResult],
    accepted: MarkResult,
    errors: [409],
  },
  unarchive: {
    service: 'activity',
    method: 'post',
    path: '/users/{id}/notifications/unarchive',
    summary: 'Restore archived notifications (as `read`)',
    access: 'the user or an admin',
    rate: 'write',
    query: NoQuery,
    body: MarkBody,
    ok: [200, MarkResult],
    accepted: MarkResult,
    errors: [409],
  },

  activityStream: {
    service: 'gateway',
    method: 'get',
    path: '/users/{id}/activity-stream',
    summary:
      "A user's live activities with resume: WebSocket (Upgrade) or Server-Sent Events (Accept: text/event-stream)",
    access: 'the user or an admin',
    rate: 'stream',
    query: StreamQuery,
    ok: [200, null],
    errors: [429],
  },
} as const satisfies Record<string, ApiRoute>;

export type ApiRouteName = keyof typeof ApiRoutes;

/** The routes one service registers. */
export function routesOf(service: ApiService): ApiRoute[] {
  return Object.values(ApiRoutes as Record<string, ApiRoute>).filter((r) => r.service === service);
}

/** The route's path as Express writes it (`/users/:id`), below `API_PREFIX`. */
export function expressPath(route: ApiRoute): string {
  return route.path.replace(/\{(\w+)\}/g, ':$1');
}

/** The route's concrete path with its parameters filled in, `API_PREFIX` included. */
export function apiPath(route: ApiRoute, params: Record<string, string | number>): string {
  return (
    API_PREFIX +
    route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params[name])))
  );
}

/** Whether a request path (no query string) is `template`'s path; a trailing slash is tolerated. */
function matches(template: string, pathname: string): boolean {
  const want = (API_PREFIX + template).split('/');
  const got = pathname.replace(/(.)\/$/, '$1').split('/');
  return (
    want.length === got.length &&
    want.every((part, i) => (part.startsWith('{') ? got[i] !== '' : part === got[i]))
  );
}

/** How many parameters a path template has: fewer is more literal. */
const parameterCount = (path: string) => path.split('{').length - 1;

/**
 * The routes (every method) of the path template that answers `pathname`: when templates overlap
 * (`/users/search` and `/users/{id}`), the most literal one owns the path.
 */
export function routesAt(
  pathname: string,
  routes: readonly ApiRoute[] = Object.values(ApiRoutes),
): ApiRoute[] {
  const matching = routes.filter((r) => matches(r.path, pathname));
  const fewest = Math.min(...matching.map((r) => parameterCount(r.path)));
  const owner = matching.find((r) => parameterCount(r.path) === fewest)?.path;
  return matching.filter((r) => r.path === owner);
}

/** The full paths of more literal routes that `route`'s template would also match (`/users/search` for `/users/{id}`). */
export function shadowedPaths(route: ApiRoute): string[] {
  const others = Object.values(ApiRoutes as Record<string, ApiRoute>).filter(
    (r) => r.path !== route.path && parameterCount(r.path) < parameterCount(route.path),
  );
  return [
    ...new Set(
      others
        .filter((r) => matches(route.path, API_PREFIX + r.path))
        .map((r) => API_PREFIX + r.path),
    ),
  ];
}

/** Which service answers a public path, or undefined when no route has it. */
export function serviceFor(pathname: string): ApiService | undefined {
  return routesAt(pathname)[0]?.service;
}

const ERROR_DESCRIPTIONS: Record<number, [ErrorCode[], string]> = {
  400: [
    ['validation_failed', 'bad_request'],
    'Invalid path, query, header or body (`details` names each field), or a malformed request',
  ],
  401: [['unauthorized'], 'No valid bearer token'],
  403: [['forbidden'], 'The token does not allow this'],
  404: [['not_found'], 'No such resource, or a page past the end'],
  405: [
    ['method_not_allowed'],
    'The path exists but not with this method (`Allow` lists the methods)',
  ],
  409: [
    ['conflict'],
    'Would break a uniqueness rule, names a user or group that does not exist, or an inbox cursor from another history of the inbox (`details` names the field)',
  ],
  412: [
    ['precondition_failed'],
    '`If-Match` names a version the resource no longer has (read it again: its `ETag` is the current version)',
  ],
  413: [['payload_too_large'], 'The body or an event is larger than its limit'],
  415: [['unsupported_media_type'], 'The body is not in a content type this route takes'],
  429: [['rate_limited'], 'Too many requests or streams (`Retry-After` says when to retry)'],
  503: [['unavailable'], 'A dependency is down or the data is being rebuilt; retry later'],
};

/**
 * The rate-limit class of a route: every principal has one budget per class, shared by the
 * replicas (reads are cheap and frequent, a search scans, writes change the directory, ingestion
 * feeds Kafka, a stream handshake opens a long-lived connection).
 */
export type RateClass = 'read' | 'search' | 'write' | 'ingest' | 'stream';
export const RATE_CLASSES: readonly RateClass[] = ['read', 'search', 'write', 'ingest', 'stream'];

/** The error statuses a route can answer: its kind's, then its own. */
export function errorStatuses(route: ApiRoute): number[] {
  // Every route is rate-limited (429 with Retry-After).
  const statuses = new Set([400, 405, 429]);
  // Public routes (the document) touch no dependency; every other can find one down.
  if (route.access !== 'anyone') statuses.add(401).add(403).add(503);
  if (route.path.includes('{')) statuses.add(404);
  if (route.body) statuses.add(413).add(415);
  for (const s of route.errors ?? []) statuses.add(s);
  if (route.versioned === 'write') statuses.add(412);
  return [...statuses].sort((a, b) => a - b);
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override(ctx) {
      // Query integers are validated from their decimal text; describe them as the integers they are.
      const bounds = queryIntegerBounds.get(ctx.zodSchema);
      if (!bounds) return;
      for (const key of Object.keys(ctx.jsonSchema))
        delete (ctx.jsonSchema as Record<string, unknown>)[key];
      Object.assign(ctx.jsonSchema, { type: 'integer', ...bounds });
    },
  });
  return rest; // the document's dialect is 2020-12 already
}

/** The path parameters of `pathname` if it is `route`'s path (raw, still percent-encoded). */
export function pathParams(route: ApiRoute, pathname: string): Record<string, string> | undefined {
  if (!matches(route.path, pathname)) return undefined;
  const want = (API_PREFIX + route.path).split('/');
  const got = pathname.split('/');
  return Object.fromEntries(
    want.flatMap((part, i) => (part.startsWith('{') ? [[part.slice(1, -1), got[i]!]] : [])),
  );
}

const PATH_PARAM = jsonSchema(IdParam, 'input');

function parametersOf(route: ApiRoute): Record<string, unknown>[] {
  const path = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: PATH_PARAM,
  }));
  const query = Object.entries(route.query?.shape ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: !(schema as z.ZodType).safeParse(undefined).success,
    schema: jsonSchema(schema as z.ZodType, 'input'),
    ...(name === 'access_token'
      ? {
          description:
            'For browsers that cannot set headers; prefer the Authorization header or the bearer.<token> subprotocol. Redacted from logs.',
        }
      : {}),
  }));
  const ifMatch =
    route.versioned === 'write'
      ? [
          {
            name: 'If-Match',
            in: 'header',
            required: false,
            schema: { type: 'string', pattern: IF_MATCH.source },
            description:
              'An `ETag` this API returned (or `*`): the change applies only if the resource still has that version, else 412',
          },
        ]
      : [];
  return [...path, ...query, ...ifMatch];
}

const ETAG_HEADER = {
  ETag: {
    description:
      'The version of the resource, for `If-Match` (and `If-None-Match`, which answers 304 when unchanged)',
    schema: { type: 'string' },
  },
};

const json = (schema: z.ZodType) => ({
  'application/json': { schema: jsonSchema(schema, 'output') },
});

/** Request bodies: JSON for every route with a body; ingestion also takes the CloudEvents HTTP binding's modes. */
function requestBodyOf(route: ApiRoute): Record<string, unknown> | undefined {
  if (!route.body) return undefined;
  const content: Record<string, unknown> = {
    'application/json': { schema: jsonSchema(route.body, 'input') },
  };
  if (route === ApiRoutes.publishActivities) {
    // Binary mode is described, not declared: its body schema depends on a header (`ce-specversion`),
    // which OpenAPI cannot state, and declaring both would call requests valid that are not.
    content['application/json'] = {
      schema: jsonSchema(route.body, 'input'),
      description:
        "One event or an array of events. Binary content mode is accepted too: with a `ce-specversion` header, the body is the event's `data` alone (`application/json`) and the other attributes are `ce-<name>` headers (CloudEvents HTTP binding).",
    };
    content['application/cloudevents+json'] = { schema: jsonSchema(ActivityEvent, 'input') };
    content['application/cloudevents-batch+json'] = { schema: jsonSchema(ActivityBatch, 'input') };
  }
  return { required: true, content };
}

function responsesOf(route: ApiRoute): Record<string, unknown> {
  const [status, schema] = route.ok;
  const responses: Record<string, unknown> = {};
  if (route === ApiRoutes.activityStream) {
    responses['101'] = {
      description: `WebSocket upgrade (subprotocol \`${STREAM_SUBPROTOCOL}\`, optionally \`bearer.<token>\`); server messages: see the schema`,
      content: { 'application/json': { schema: jsonSchema(StreamMessage, 'output') } },
    };
    responses['200'] = {
      description:
        "Server-Sent Events (`Accept: text/event-stream`); each event's `id` is a resume cursor (send it back as `Last-Event-ID`)",
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    };
  } else {
    const headers = route.versioned && schema ? { headers: ETAG_HEADER } : {};
    responses[String(status)] = schema
      ? { description: 'OK', ...headers, content: json(schema) }
      : { description: 'No content' };
    if (route.accepted)
      responses['202'] = {
        description: 'Accepted: published, not applied within the wait',
        content: json(route.accepted),
      };
  }
  for (const s of errorStatuses(route))
    responses[String(s)] = { $ref: `#/components/responses/E${s}` };
  return responses;
}

/** One operation of the OpenAPI document: the route's summary, who may call, parameters, body and replies. */
function operationOf(name: string, route: ApiRoute): Record<string, unknown> {
  const requestBody = requestBodyOf(route);
  const server = route.service === 'gateway' ? 'stream-gateway' : `${route.service}-service`;
  return {
    operationId: name,
    summary: route.summary,
    description: `Served by the ${server}. Who may call: ${route.access}. Unknown query parameters and body fields are rejected with 400.`,
    ...(route.access === 'anyone'
      ? { security: [] }
      : route === ApiRoutes.activityStream
        ? { security: [{ bearer: [] }, { accessToken: [] }] }
        : {}),
    parameters: parametersOf(route),
    ...(requestBody ? { requestBody } : {}),
    responses: responsesOf(route),
  };
}

/** The headers a 429 carries: when to retry, and the budget (IETF httpapi RateLimit draft). */
const RATE_LIMIT_HEADERS = {
  'Retry-After': {
    description: 'Seconds until the budget of this route class refills',
    schema: { type: 'integer', minimum: 0 },
  },
  RateLimit: {
    description: 'IETF httpapi draft: `"<class>";r=<remaining>;t=<seconds to reset>`',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description: 'IETF httpapi draft: `"<class>";q=<quota>;w=<window seconds>`',
    schema: { type: 'string' },
  },
};

/** The shared error replies, `E<status>`, each naming its error codes. */
function errorResponses(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(ERROR_DESCRIPTIONS).map(([status, [codes, description]]) => [
      `E${status}`,
      {
        description: `${description} (error code ${codes.map((c) => `\`${c}\``).join(' or ')})`,
        ...(status === '405' ? { headers: { Allow: { schema: { type: 'string' } } } } : {}),
        ...(status === '429' ? { headers: RATE_LIMIT_HEADERS } : {}),
        content: { 'application/json': { schema: jsonSchema(ErrorBody, 'output') } },
      },
    ]),
  );
}

/** The OpenAPI 3.1 document of the whole public API, generated from the route table and the contracts. */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, route] of Object.entries(ApiRoutes as Record<string, ApiRoute>))
    (paths[route.path] ??= {})[route.method] = operationOf(name, route);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Activity suite',
      version: '1.0.0',
      description:
        'Users, workspaces and access (users-service), activity reads and ingestion (activity-service), live activity streams (stream-gateway), on one origin.',
    },
    servers: [{ url: API_PREFIX }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        accessToken: {
          type: 'apiKey',
          in: 'query',
          name: 'access_token',
          description: 'The stream only, for clients that cannot send headers',
        },
      },
      responses: errorResponses(),
    },
  };
}
