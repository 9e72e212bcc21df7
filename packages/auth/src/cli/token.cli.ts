// `npm run token -- --sub 42 [--role admin] [--scope activity:write] [--ttl 1h]`
import { parseArgs } from 'node:util';
import { devSecret, devSecretPath } from '../dev-key.js';
import { signDevToken } from '../sign.js';

function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text);
  if (!match) throw new Error(`--ttl "${text}" must look like 30s, 15m, 1h or 7d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

try {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      role: { type: 'string', multiple: true },
      scope: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '1h' },
    },
  });
  if (!values.sub) throw new Error('--sub is required (a user id such as 42, or a service name)');
  const token = await signDevToken(
    process.env.JWT_SECRET ?? devSecret(devSecretPath(process.env)),
    {
      sub: values.sub,
      roles: values.role ?? [],
      scopes: values.scope ?? [],
      ttlSeconds: parseTtl(values.ttl),
    },
  );
  process.stdout.write(`${token}\n`);
} catch (err) {
  process.stderr.write(`token: ${(err as Error).message}\n`);
  process.exit(2);
}
