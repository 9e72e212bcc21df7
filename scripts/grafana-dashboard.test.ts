import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultMetrics, definedMetrics, metricsIn } from './metric-names.js';

const root = resolve(import.meta.dirname, '..');
const dashboard = JSON.parse(
  readFileSync(resolve(root, 'infra/grafana/activity-suite.dashboard.json'), 'utf8'),
) as {
  uid: string;
  panels: {
    id: number;
    type: string;
    title: string;
    gridPos: object;
    targets?: { expr: string }[];
  }[];
};

const defined = definedMetrics();

const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
const used = new Set(exprs.flatMap(metricsIn));

describe('the Grafana dashboard', () => {
  it('finds the metric definitions it is checked against', () => {
    expect(defined.size).toBeGreaterThan(10);
  });

  it('queries only metrics the services export', () => {
    for (const name of used) expect([...defined, ...defaultMetrics], name).toContain(name);
  });

  it('covers every metric the services define', () => {
    for (const name of defined) expect([...used], name).toContain(name);
  });

  it('has unique panel ids and a datasource variable on every query', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((panel) => panel.type !== 'row')) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(JSON.stringify(p), p.title).toContain('${datasource}');
    }
  });
});
