import {
  AdminReplaceUserBody,
  CreateUserBody,
  EffectiveWorkspace,
  ErrorBody,
  Group,
  GroupBody,
  GroupMemberBody,
  PageQuery,
  PatchUserBody,
  Permission,
  PermissionBody,
  SearchQuery,
  User,
  UserProfile,
  Workspace,
  WorkspaceBody,
  paginated,
} from '@suite/contracts';
import { z } from 'zod';

interface Route {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  access: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  ok: [number, z.ZodType | null];
  errors: number[];
}

const list = (item: z.ZodType) => paginated(item);
const results = (item: z.ZodType) => z.object({ results: z.array(item) });

/** Every users-service route with the schemas its validators use. */
export const routes: Route[] = [
  { method: 'get', path: '/users', summary: 'List users', access: 'user', query: PageQuery, ok: [200, list(User)], errors: [400, 401, 403, 404] },
  { method: 'post', path: '/users', summary: 'Create a user', access: 'admin', body: CreateUserBody, ok: [201, UserProfile], errors: [400, 401, 403, 409, 413] },
  { method: 'get', path: '/users/search', summary: 'Search users (exact, then prefix, then substring)', access: 'user', query: SearchQuery, ok: [200, list(User)], errors: [400, 401, 403, 404] },
  { method: 'get', path: '/users/{id}', summary: 'Get a full profile', access: 'user', ok: [200, UserProfile], errors: [400, 401, 403, 404] },
  { method: 'put', path: '/users/{id}', summary: 'Replace the writable fields', access: 'self or admin', body: AdminReplaceUserBody, ok: [200, UserProfile], errors: [400, 401, 403, 404, 409] },
  { method: 'patch', path: '/users/{id}', summary: 'Update some writable fields', access: 'self or admin', body: PatchUserBody, ok: [200, UserProfile], errors: [400, 401, 403, 404, 409] },
  { method: 'delete', path: '/users/{id}', summary: 'Delete a user', access: 'admin', ok: [204, null], errors: [400, 401, 403, 404] },
  { method: 'get', path: '/users/{id}/workspaces', summary: "A user's effective workspaces", access: 'self or admin', ok: [200, results(EffectiveWorkspace)], errors: [400, 401, 403, 404] },
  { method: 'post', path: '/workspaces', summary: 'Create a workspace', access: 'admin', body: WorkspaceBody, ok: [201, Workspace], errors: [400, 401, 403] },
  { method: 'get', path: '/workspaces', summary: 'List workspaces', access: 'admin', query: PageQuery, ok: [200, list(Workspace)], errors: [400, 401, 403, 404] },
  { method: 'get', path: '/workspaces/{id}', summary: 'Get a workspace', access: 'admin', ok: [200, Workspace], errors: [400, 401, 403, 404] },
  { method: 'patch', path: '/workspaces/{id}', summary: 'Rename a workspace', access: 'admin', body: WorkspaceBody, ok: [200, Workspace], errors: [400, 401, 403, 404] },
  { method: 'delete', path: '/workspaces/{id}', summary: 'Delete a workspace', access: 'admin', ok: [204, null], errors: [400, 401, 403, 404] },
  { method: 'post', path: '/workspaces/{id}/permissions', summary: 'Grant a role to a user or group', access: 'admin', body: PermissionBody, ok: [201, Permission], errors: [400, 401, 403, 404] },
  { method: 'get', path: '/workspaces/{id}/permissions', summary: "A workspace's permissions", access: 'admin', ok: [200, results(Permission)], errors: [400, 401, 403, 404] },
  { method: 'delete', path: '/workspaces/{id}/permissions/{permissionId}', summary: 'Revoke a permission', access: 'admin', ok: [204, null], errors: [400, 401, 403, 404] },
  { method: 'post', path: '/groups', summary: 'Create a group', access: 'admin', body: GroupBody, ok: [201, Group], errors: [400, 401, 403, 409] },
  { method: 'get', path: '/groups', summary: 'List groups', access: 'admin', query: PageQuery, ok: [200, list(Group)], errors: [400, 401, 403, 404] },
  { method: 'get', path: '/groups/{id}', summary: 'Get a group', access: 'admin', ok: [200, Group], errors: [400, 401, 403, 404] },
  { method: 'delete', path: '/groups/{id}', summary: 'Delete a group', access: 'admin', ok: [204, null], errors: [400, 401, 403, 404] },
  { method: 'post', path: '/groups/{id}/members', summary: 'Add a member', access: 'admin', body: GroupMemberBody, ok: [201, Group], errors: [400, 401, 403, 404] },
  { method: 'delete', path: '/groups/{id}/members/{userId}', summary: 'Remove a member', access: 'admin', ok: [204, null], errors: [400, 401, 403, 404] },
];

const json = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

/** The OpenAPI 3.1 document, generated from the same zod schemas the validators use. */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
    }));
    const queryParams = r.query
      ? Object.entries(r.query.shape).map(([name, schema]) => ({
          name,
          in: 'query',
          required: !(schema as z.ZodType).safeParse(undefined).success,
          schema: json(schema as z.ZodType, 'input'),
        }))
      : [];
    const responses: Record<string, unknown> = {
      [String(r.ok[0])]: r.ok[1] ? { description: 'OK', content: { 'application/json': { schema: json(r.ok[1], 'output') } } } : { description: 'No content' },
    };
    for (const status of r.errors) responses[String(status)] = { $ref: '#/components/responses/Error' };
    paths[r.path] ??= {};
    paths[r.path]![r.method] = {
      summary: r.summary,
      description: `Who may call: ${r.access}. Unknown query parameters and body fields are rejected with 400.`,
      parameters: [...pathParams, ...queryParams],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(r.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Activity suite — users-service', version: '1.0.0' },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      responses: { Error: { description: 'Error', content: { 'application/json': { schema: json(ErrorBody, 'output') } } } },
    },
  };
}
