// Writes the Helm chart's README from values.yaml: every value, its default, and the comment above
// it. `npm run chart:readme` rewrites it; the chart tests fail while it is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';

export const chartDir = resolve(import.meta.dirname, '..', 'infra/helm/activity-suite');
export const chartReadme = resolve(chartDir, 'README.md');

interface Row {
  path: string;
  value: string;
  description: string;
}

function describe(comment: string | null | undefined): string {
  return (comment ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ')
    .replaceAll('|', '\\|');
}

function rows(node: Node | null, prefix: string, inherited: string, out: Row[]): void {
  if (!isMap(node) || node.flow) return;
  node.items.forEach((pair: Pair, i) => {
    if (!isPair(pair) || !isScalar(pair.key)) return;
    const path = prefix ? `${prefix}.${String(pair.key.value)}` : String(pair.key.value);
    // The first key's comment is parsed onto its map.
    const comment = describe(pair.key.commentBefore) || (i === 0 ? inherited : '');
    const value = pair.value as Node | null;
    if (isMap(value) && !value.flow && value.items.length > 0) {
      if (comment) out.push({ path, value: '', description: comment });
      rows(value, path, describe(value.commentBefore), out);
      return;
    }
    const trailing = isScalar(value) || isSeq(value) || isMap(value) ? describe(value.comment) : '';
    const shown = JSON.stringify(value && 'toJSON' in value ? value.toJSON() : null);
    out.push({
      path,
      value: `\`${shown.replaceAll('|', '\\|')}\``,
      description: [comment, trailing].filter(Boolean).join(' '),
    });
  });
}

export function chartReadmeText(): string {
  const doc = parseDocument(readFileSync(resolve(chartDir, 'values.yaml'), 'utf8'));
  const chart = parseDocument(readFileSync(resolve(chartDir, 'Chart.yaml'), 'utf8')).toJS() as {
    name: string;
    version: string;
    appVersion: string;
    description: string;
  };
  const out: Row[] = [];
  rows(doc.contents as Node, '', '', out);
  return [
    `# ${chart.name}`,
    '',
    `${chart.description}. Chart ${chart.version}, app ${chart.appVersion}.`,
    '',
    describe(doc.commentBefore).replaceAll('\\|', '|'),
    '',
    'Install: `helm install suite infra/helm/activity-suite -f my-values.yaml`. How to run it against',
    'managed Kafka, MongoDB and Redis, the probes, sizing, scaling and alerts: `docs/operations.md`.',
    '`values.schema.json` checks every value below at install, upgrade and template time.',
    '',
    '<!-- Generated from values.yaml by `npm run chart:readme`; edit the comments there. -->',
    '',
    '| Value | Default | Description |',
    '|---|---|---|',
    ...out.map((r) => `| \`${r.path}\` | ${r.value} | ${r.description} |`),
    '',
  ].join('\n');
}

if (process.argv[1] === import.meta.filename) writeFileSync(chartReadme, chartReadmeText());
