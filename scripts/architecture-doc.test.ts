import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const doc = readFileSync(resolve(root, 'docs/architecture.md'), 'utf8');
/** Every code span of the page. */
const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

/** Every file and folder under the workspace's code, as paths from the root. */
function tree(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    out.push(relative(root, path) + (statSync(path).isDirectory() ? '/' : ''));
    if (statSync(path).isDirectory()) tree(path, out);
  }
  return out;
}
const paths = ['packages', 'services', 'infra', 'scripts', 'docs', 'bench'].flatMap((d) =>
  tree(resolve(root, d)),
);

/** A span that names a file or folder: a path with an extension, or one ending in `/`, without spaces, globs or placeholders. */
const namesPath = (span: string) =>
  !/[\s*{}<>()]/.test(span) &&
  !span.startsWith('/') &&
  !span.startsWith('../') &&
  (/\.(ts|md|sql|js|json|yaml|conf)$/.test(span) ||
    (/^[\w.-]+(\/[\w.-]+)*\/?$/.test(span) && span.includes('/')));

describe('docs/architecture.md', () => {
  it('when it names a file or folder, then that path exists (from the root, or as the tail of a path in the workspace)', () => {
    const named = spans.filter(namesPath);
    expect(named.length).toBeGreaterThan(20);
    const missing = named.filter(
      (span) =>
        !existsSync(resolve(root, span)) &&
        !paths.some((p) => p === span || p.endsWith(`/${span}`) || p.endsWith(`/${span}/`)),
    );
    expect(missing).toEqual([]);
  });

  it('when a service has a room (a folder under src/), then the page lists it', () => {
    const rooms = new Set(
      readdirSync(resolve(root, 'services')).flatMap((service) => {
        const src = resolve(root, 'services', service, 'src');
        return existsSync(src)
          ? readdirSync(src).filter((name) => statSync(join(src, name)).isDirectory())
          : [];
      }),
    );
    expect(rooms.size).toBeGreaterThan(4);
    const unlisted = [...rooms].filter((room) => !spans.includes(`${room}/`));
    expect(unlisted).toEqual([]);
  });
});
