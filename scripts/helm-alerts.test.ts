// The chart's alerting rules, rendered by helm and unit-tested by Prometheus's own promtool: each
// alert fires in the case it is written for, and stays quiet in the case next to it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { ensureHelm, ensurePromtool } from '@suite/local-infra';

const exec = promisify(execFile);
const chart = resolve(import.meta.dirname, '..', 'infra/helm/activity-suite');
const NS = 'suite';

interface Rule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

let dir: string;
let promtool: string;
let rules: Rule[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'alerts-'));
  const [helm, tool] = await Promise.all([ensureHelm(), ensurePromtool()]);
  promtool = tool;
  const values = [
    '--set',
    'secrets.jwtSecret=0123456789abcdef0123456789abcdef',
    '--set',
    'secrets.usersEventsSigningKey=fedcba9876543210fedcba9876543210',
    '--set',
    'prometheusRule.enabled=true',
  ];
  const { stdout } = await exec(helm, [
    'template',
    'suite',
    chart,
    '--namespace',
    NS,
    '--kube-version',
    '1.31.0',
    '--show-only',
    'templates/prometheusrule.yaml',
    ...values,
  ]);
  const spec = (parseAllDocuments(stdout)[0]!.toJS() as { spec: { groups: { rules: Rule[] }[] } })
    .spec;
  rules = spec.groups.flatMap((g) => g.rules);
  writeFileSync(join(dir, 'rules.yaml'), stringify(spec));
}, 15 * 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rule = (name: string) => rules.find((r) => r.alert === name)!;

/** An expected alert: the rule's labels plus the series labels it keeps, its annotations with those filled in. */
function firing(name: string, labels: Record<string, string> = {}) {
  const r = rule(name);
  const annotations = Object.fromEntries(
    Object.entries(r.annotations).map(([k, v]) => [
      k,
      v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, l: string) => labels[l] ?? ''),
    ]),
  );
  return { exp_labels: { ...r.labels, ...labels }, exp_annotations: annotations };
}

interface Case {
  series: Record<string, string>;
  at: string;
  alert: string;
  expect: ReturnType<typeof firing>[];
}

/** Runs promtool's rule unit tests on `cases`; its output when one fails. */
async function promtoolTest(cases: Case[]): Promise<void> {
  const tests = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: cases.map((c) => ({
      interval: '1m',
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: c.expect }],
    })),
  };
  const file = join(dir, `tests-${cases[0]!.alert}.yaml`);
  writeFileSync(file, stringify(tests));
  const result = await exec(promtool, ['test', 'rules', file], { cwd: dir }).then(
    (r) => ({ ok: true, out: r.stdout + r.stderr }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, out: e.stdout + e.stderr }),
  );
  expect(result.ok, result.out).toBe(true);
}

const ns = `namespace="${NS}"`;

describe('alerting rules (promtool test rules)', () => {
  it('the rules file is valid for Prometheus', async () => {
    const { stdout } = await exec(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('UsersOutboxStuck fires when documents stay pending and nothing is published, even with no published series at all (fresh pods, Kafka down)', async () => {
    await promtoolTest([
      {
        series: { [`outbox_pending_documents{${ns},collection="users",pod="users-1"}`]: '3x40' },
        at: '30m',
        alert: 'UsersOutboxStuck',
        expect: [firing('UsersOutboxStuck')],
      },
      {
        series: {
          [`outbox_pending_documents{${ns},collection="users",pod="users-1"}`]: '3x40',
          [`outbox_events_published_total{${ns},type="user.created",pod="users-1"}`]: '0+5x40',
        },
        at: '30m',
        alert: 'UsersOutboxStuck',
        expect: [],
      },
      {
        series: { [`outbox_pending_documents{${ns},collection="users",pod="users-1"}`]: '0x40' },
        at: '30m',
        alert: 'UsersOutboxStuck',
        expect: [],
      },
    ]);
  });

  it('ActivityProjectionLagGrowing fires on total lag above the threshold and growing; a gauge that stops (its partitions moved) stops counting', async () => {
    await promtoolTest([
      {
        series: {
          [`kafka_consumer_lag{${ns},pod="a",topic="activity.events",partition="0"}`]:
            '6000+200x40',
          [`kafka_consumer_lag{${ns},pod="b",topic="activity.events",partition="1"}`]:
            '6000+200x40',
        },
        at: '30m',
        alert: 'ActivityProjectionLagGrowing',
        expect: [firing('ActivityProjectionLagGrowing')],
      },
      {
        // Partition 0 moves from pod a to pod b at 10m: a's gauge ends, b's carries the same lag. Counted once: below the threshold.
        series: {
          [`kafka_consumer_lag{${ns},pod="a",topic="activity.events",partition="0"}`]: '8000+10x10',
          [`kafka_consumer_lag{${ns},pod="b",topic="activity.events",partition="0"}`]:
            '_x10 8100+10x30',
        },
        at: '40m',
        alert: 'ActivityProjectionLagGrowing',
        expect: [],
      },
    ]);
  });

  it('ActivitySuiteHighErrorRate fires per service above 1% 5xx, and not at 0.5%', async () => {
    const requests = (perMinute: number) => `0+${perMinute}x30`;
    await promtoolTest([
      {
        series: {
          [`http_request_duration_seconds_count{${ns},service="users-service",status_code="200"}`]:
            requests(980),
          [`http_request_duration_seconds_count{${ns},service="users-service",status_code="503"}`]:
            requests(20),
        },
        at: '20m',
        alert: 'ActivitySuiteHighErrorRate',
        expect: [firing('ActivitySuiteHighErrorRate', { service: 'users-service' })],
      },
      {
        series: {
          [`http_request_duration_seconds_count{${ns},service="users-service",status_code="200"}`]:
            requests(995),
          [`http_request_duration_seconds_count{${ns},service="users-service",status_code="500"}`]:
            requests(5),
        },
        at: '20m',
        alert: 'ActivitySuiteHighErrorRate',
        expect: [],
      },
    ]);
  });

  it('ActivityProjectionsNotWhole fires while any pod reports its projections not ready, and only in this release namespace', async () => {
    await promtoolTest([
      {
        series: {
          [`activity_projection_ready{${ns},pod="a"}`]: '1x20',
          [`activity_projection_ready{${ns},pod="b"}`]: '0x20',
        },
        at: '15m',
        alert: 'ActivityProjectionsNotWhole',
        expect: [firing('ActivityProjectionsNotWhole')],
      },
      {
        series: {
          [`activity_projection_ready{${ns},pod="a"}`]: '1x20',
          ['activity_projection_ready{namespace="other",pod="x"}']: '0x20',
        },
        at: '15m',
        alert: 'ActivityProjectionsNotWhole',
        expect: [],
      },
    ]);
  });
});
