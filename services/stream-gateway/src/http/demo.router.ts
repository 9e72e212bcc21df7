import { Router, type Response } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: `demo/` holds the console's page, script and styles; `dist/demo/` the built stream-client bundle. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_DIR = join(PACKAGE_ROOT, 'demo');
export const BUILT_CLIENT = join(PACKAGE_ROOT, 'dist', 'demo', 'stream-client.js');

/** The stream-client package's TypeScript entry (for a development build of the bundle). */
function clientSource(): string {
  return join(
    dirname(createRequire(import.meta.url).resolve('@suite/stream-client/package.json')),
    'src',
    'index.ts',
  );
}

/** stream-client bundled for browsers (a global `SuiteStream`); `npm run build` writes it to `dist/demo/`. */
export async function bundleStreamClient(): Promise<string> {
  // esbuild is a build tool: a development dependency, never loaded in a built image.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [clientSource()],
    bundle: true,
    format: 'iife',
    globalName: 'SuiteStream',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    conditions: ['source'],
  });
  return result.outputFiles[0]!.text;
}

/** Running from the TypeScript sources (development, tests) rather than from a build. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** A build serves the bundle `npm run build` wrote; from the sources it is built once, when the router is made. */
function streamClient(): Promise<string> {
  if (FROM_SOURCE) return bundleStreamClient();
  if (!existsSync(BUILT_CLIENT))
    return Promise.reject(new Error(`${BUILT_CLIENT} is missing: run npm run build`));
  return Promise.resolve(readFileSync(BUILT_CLIENT, 'utf8'));
}

const ASSETS: Record<string, [file: string, type: string]> = {
  'console.js': ['console.js', 'application/javascript'],
  'console.css': ['console.css', 'text/css'],
};

/** The live console at /demo: one user's feed, count, active workspaces and stream state (demo/console.*). */
export function demoRouter(): Router {
  const router = Router();
  const page = readFileSync(join(DEMO_DIR, 'console.html'), 'utf8');
  const assets = Object.fromEntries(
    Object.entries(ASSETS).map(([name, [file, type]]) => [
      name,
      { body: readFileSync(join(DEMO_DIR, file), 'utf8'), type },
    ]),
  );
  const client = streamClient();
  // A failed development build answers 500 on its own route; it must not crash the process.
  client.catch(() => undefined);
  const send = (res: Response, type: string, body: string) =>
    res.type(type).set('cache-control', 'no-cache').send(body);
  router.get(['/demo', '/demo/'], (_req, res) => {
    // The token travels in the fragment, which never reaches a server; keep the page out of caches all the same.
    res
      .set('cache-control', 'no-store')
      .set('referrer-policy', 'no-referrer')
      .type('html')
      .send(page);
  });
  router.get('/demo/stream-client.js', async (_req, res) =>
    send(res, 'application/javascript', await client),
  );
  router.get('/demo/:asset', (req, res, next) => {
    const asset = assets[req.params.asset];
    if (!asset) return next();
    send(res, asset.type, asset.body);
  });
  return router;
}
