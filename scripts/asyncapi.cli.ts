// npm run asyncapi — writes docs/asyncapi.json from packages/contracts.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildAsyncApi } from '@suite/contracts';

const target = resolve(import.meta.dirname, '../docs/asyncapi.json');
writeFileSync(target, `${JSON.stringify(buildAsyncApi(), null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
