import { z } from 'zod';

export const Role = z.enum(['viewer', 'member', 'admin']);
export type Role = z.infer<typeof Role>;

/** Roles ordered by power; the highest grant wins when grants overlap. */
export const roleRank: Record<Role, number> = { viewer: 1, member: 2, admin: 3 };

export const UserLimits = { nameMax: 100, usernameMax: 64, emailMax: 254, searchQueryMax: 100 } as const;

const Username = z
  .string()
  .min(3)
  .max(UserLimits.usernameMax)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _.- only');
const Email = z.email().max(UserLimits.emailMax);
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
