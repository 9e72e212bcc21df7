// `npm run build` (after tsc): writes the /demo page's stream-client bundle to dist/demo/, so a built
// image serves it as a file and needs neither esbuild nor the TypeScript sources.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUILT_CLIENT, bundleStreamClient } from '../http/demo.router.js';

mkdirSync(dirname(BUILT_CLIENT), { recursive: true });
writeFileSync(BUILT_CLIENT, await bundleStreamClient());
process.stdout.write(`wrote ${BUILT_CLIENT}\n`);
