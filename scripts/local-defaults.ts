// Runs a local CLI with the same defaults `npm start` gives the services, for what the environment
// leaves unset: the development signing secret (~/.cache/activity-suite/dev-jwt-secret) and the
// users.events key derived from it. Anything set in the environment wins; production sets both.
//   tsx --conditions=source scripts/local-defaults.ts <entry.ts> [args…]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { devOriginKey, devSecret, devSecretPath } from '@suite/auth';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: local-defaults.ts <entry.ts> [args…]\n');
  process.exit(2);
}
process.env.JWT_SECRET ??= devSecret(devSecretPath(process.env));
process.env.USERS_EVENTS_SIGNING_KEY ??= devOriginKey(process.env.JWT_SECRET);
process.argv = [process.argv[0]!, resolve(entry), ...args];
await import(pathToFileURL(resolve(entry)).href);
