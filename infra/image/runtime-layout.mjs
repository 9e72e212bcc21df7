// Lays out one service's runtime: its built code and the workspace packages it needs at run time,
// nothing else, then installs their production dependencies. The Dockerfile's runtime stage is
// this directory; scripts/runtime-image.int.test.ts lays it out the same way without Docker.
//
//   node infra/image/runtime-layout.mjs <service dir name> <repository root> <out dir>
//
// Why not `npm ci --omit=dev --workspace …` or `turbo prune` alone: both keep every workspace a
// service's devDependencies name (the test harness with vitest and testcontainers, the other
// services), and npm installs each kept workspace's own dependencies, dev tooling included.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [service, root, out] = process.argv.slice(2);
if (!service || !root || !out) {
  console.error('usage: node infra/image/runtime-layout.mjs <service> <repository root> <out dir>');
  process.exit(2);
}
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const rootPackage = readJson(join(root, 'package.json'));

/** Every workspace package by name, with its directory relative to the root. */
const workspaces = new Map();
for (const pattern of rootPackage.workspaces) {
  const base = pattern.replace(/\/\*$/, '');
  const dirs = pattern.endsWith('/*')
    ? readdir(join(root, base)).map((d) => `${base}/${d}`)
    : [base];
  for (const dir of dirs) {
    const file = join(root, dir, 'package.json');
    if (existsSync(file)) workspaces.set(readJson(file).name, { dir, pkg: readJson(file) });
  }
}
function readdir(dir) {
  return existsSync(dir)
    ? execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n').filter(Boolean)
    : [];
}

/** The service and the workspace packages its production dependencies reach. */
const entry = [...workspaces.values()].find((w) => w.dir === `services/${service}`);
if (!entry) throw new Error(`no workspace at services/${service}`);
const closure = new Map([[entry.pkg.name, entry]]);
for (const { pkg } of closure.values()) {
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (workspaces.has(name) && !closure.has(name)) closure.set(name, workspaces.get(name));
  }
}

mkdirSync(out, { recursive: true });
for (const { dir, pkg } of closure.values()) {
  const { devDependencies: _dev, scripts: _scripts, ...runtime } = pkg;
  mkdirSync(join(out, dir), { recursive: true });
  writeFileSync(join(out, dir, 'package.json'), `${JSON.stringify(runtime, null, 2)}\n`);
  // What runs: the build, and the directories a package names in `files` besides it (the demo page's assets).
  for (const item of pkg.files ?? ['dist']) {
    const from = join(root, dir, item);
    if (!existsSync(from))
      throw new Error(`${from} is missing: build first (npx turbo run build --filter=${pkg.name})`);
    cpSync(from, join(out, dir, item), { recursive: true });
  }
}
writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify({ name: `${rootPackage.name}-${service}`, private: true, type: 'module', workspaces: [...closure.values()].map((w) => w.dir) }, null, 2)}\n`,
);
// The repository's lockfile pins every version; npm drops what this smaller tree does not use.
cpSync(join(root, 'package-lock.json'), join(out, 'package-lock.json'));
execFileSync(
  'npm',
  ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
  { cwd: out, stdio: 'inherit' },
);
console.log(`laid out ${service} (${[...closure.keys()].join(', ')}) in ${out}`);
