import { z } from 'zod';
import { queryInteger } from './params.js';

export const Role = z.enum(['viewer', 'member', 'admin']);
export type Role = z.infer<typeof Role>;

/** Roles ordered by power; the highest grant wins when grants overlap. */
export const roleRank: Record<Role, number> = { viewer: 1, member: 2, admin: 3 };

export const UserLimits = {
  nameMax: 100,
  usernameMax: 64,
  emailMax: 254,
  searchQueryMax: 100,
} as const;

const Username = z
  .string()
  .min(3)
  .max(UserLimits.usernameMax)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _.- only');
/** RFC 5321's lengths, which `format: email` checkers apply and zod's pattern does not: local part 64, domain labels 63. */
function emailLengthsValid(email: string): boolean {
  const at = email.lastIndexOf('@');
  return (
    at <= 64 &&
    email
      .slice(at + 1)
      .split('.')
      .every((label) => label.length <= 63)
  );
}
const Email = z.email().max(UserLimits.emailMax).refine(emailLengthsValid, {
  message: 'the part before @ is at most 64 characters, each domain label at most 63',
});
const Name = z.string().trim().min(1).max(UserLimits.nameMax);

/** A user as lists and search return it. */
export const User = z.object({
  id: z.number().int().positive(),
  username: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  isActive: z.boolean(),
});
export type User = z.infer<typeof User>;

/** The full profile. */
export const UserProfile = User.extend({
  roles: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type UserProfile = z.infer<typeof UserProfile>;

/** Fields any user may write on their own profile. */
export const SelfWritableUser = z.strictObject({
  username: Username,
  email: Email,
  firstName: Name,
  lastName: Name,
});

/** Fields only an admin may write. */
export const AdminWritableUser = SelfWritableUser.extend({
  isActive: z.boolean(),
  roles: z.array(z.enum(['admin'])).max(4),
});

export const CreateUserBody = AdminWritableUser.partial({ isActive: true, roles: true });
export type CreateUserBody = z.infer<typeof CreateUserBody>;

/** Paginated envelope, Django REST Framework style. */
export function paginated<T extends z.ZodTypeAny>(item: T) {
  return z.object({
    count: z.number().int(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}
export const UserList = paginated(User);
export type UserList = z.infer<typeof UserList>;

export const Workspace = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Workspace = z.infer<typeof Workspace>;

export const Grant = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('direct'), permissionId: z.number().int() }),
  z.object({
    kind: z.literal('group'),
    permissionId: z.number().int(),
    groupId: z.number().int(),
    groupName: z.string(),
  }),
]);
export type Grant = z.infer<typeof Grant>;

/** One workspace a user can reach, with the winning role and every grant behind it. */
export const EffectiveWorkspace = z.object({
  workspace: z.object({ id: z.number().int(), name: z.string() }),
  role: Role,
  grantedVia: z.array(Grant),
});
export type EffectiveWorkspace = z.infer<typeof EffectiveWorkspace>;

export const PaginationLimits = {
  defaultPageSize: 20,
  maxPageSize: 100,
  maxPage: 100_000_000,
} as const;

export const PageQuery = z.strictObject({
  page: queryInteger(PaginationLimits.maxPage).optional(),
  page_size: queryInteger(PaginationLimits.maxPageSize).optional(),
});

/**
 * A keyset cursor of the users list: empty for the first page, `a<id>` for the users after an id,
 * `b<id>` for those before it. Issued in `next` and `previous`; clients treat it as opaque.
 */
export const USERS_CURSOR = /^(?:|[ab][1-9][0-9]{0,14})$/;

/** Where a users-list cursor starts: the empty cursor is the first page, `a<id>` after an id, `b<id>` before one. */
export function parseUsersCursor(cursor: string): { after: number } | { before: number } {
  if (cursor === '') return { after: 0 };
  const id = Number(cursor.slice(1));
  return cursor.startsWith('a') ? { after: id } : { before: id };
}

/** The cursor of the page after (`a`) or before (`b`) a user id. */
export function usersCursor(direction: 'after' | 'before', id: number): string {
  return `${direction === 'after' ? 'a' : 'b'}${id}`;
}

/**
 * `page` (page numbers, with a count) or `cursor` (keyset: O(page) at any depth, no count). With a
 * cursor, `page` is ignored: OpenAPI cannot say that two query parameters exclude each other, and a
 * request its description allows is not refused.
 */
export const UserListQuery = PageQuery.extend({
  cursor: z
    .string()
    .regex(USERS_CURSOR, 'not a cursor this API issued')
    .describe(
      'Keyset pagination: empty for the first page, then the cursor in `next` or `previous`. With it, `page` is ignored and the answer has no `count`.',
    )
    .optional(),
});

/** DRF's CursorPagination envelope: no count, `next`/`previous` absolute URLs or null. */
export function cursorPaginated<T extends z.ZodTypeAny>(item: T) {
  return z.object({
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}
export const UserCursorPage = cursorPaginated(User);
export type UserCursorPage = z.infer<typeof UserCursorPage>;

export const SearchQuery = PageQuery.extend({
  q: z
    .string()
    .trim()
    .min(1, 'q is required')
    .max(UserLimits.searchQueryMax, `q must be at most ${UserLimits.searchQueryMax} characters`),
});

/** PUT by the user themself: every self-writable field; admin-only fields are refused by the use case. */
export const SelfReplaceUserBody = SelfWritableUser.extend({
  isActive: z.boolean().optional(),
  roles: z
    .array(z.enum(['admin']))
    .max(4)
    .optional(),
});
/** PUT by an admin: every writable field. */
export const AdminReplaceUserBody = AdminWritableUser;
/** PATCH: any subset of the writable fields, at least one. */
export const PatchUserBody = AdminWritableUser.partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'send at least one field' })
  .meta({ minProperties: 1 });

const WorkspaceName = z.string().trim().min(1).max(100);
export const WorkspaceBody = z.strictObject({ name: WorkspaceName });
export const GroupBody = z.strictObject({ name: WorkspaceName });
export const GroupMemberBody = z.strictObject({ userId: z.number().int().positive() });
/** A grant to exactly one user or one group (JSON Schema `oneOf`, as the validator applies it). */
export const PermissionBody = z.xor(
  [
    z.strictObject({ userId: z.number().int().positive(), role: Role }),
    z.strictObject({ groupId: z.number().int().positive(), role: Role }),
  ],
  { error: 'send a role and exactly one of userId or groupId (a positive integer)' },
);
export type PermissionBody = z.infer<typeof PermissionBody>;

export const Group = z.object({
  id: z.number().int(),
  name: z.string(),
  members: z.array(z.number().int()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const Permission = z.object({
  id: z.number().int(),
  workspaceId: z.number().int(),
  userId: z.number().int().optional(),
  groupId: z.number().int().optional(),
  role: Role,
  createdAt: z.string(),
});
