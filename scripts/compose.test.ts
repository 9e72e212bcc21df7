import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TopicPartitions, dlqTopic } from '@suite/contracts';
import { activityConfigShape, loadActivityConfig } from '@suite/activity-service';
import { gatewayConfigShape, loadGatewayConfig } from '@suite/stream-gateway';
import { loadUsersConfig, usersConfigShape } from '@suite/users-service';
import { upstreamFor, type Upstream } from './edge-routes.js';

const root = resolve(import.meta.dirname, '..');
interface ComposeService {
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, ComposeService> };
const ours = {
  'users-service': { shape: usersConfigShape, load: loadUsersConfig, port: 3001 },
  'activity-service': { shape: activityConfigShape, load: loadActivityConfig, port: 3002 },
  'stream-gateway': { shape: gatewayConfigShape, load: loadGatewayConfig, port: 3003 },
} as const;

describe('docker-compose.yml agrees with the services', () => {
  it('has the infrastructure, the topic initialiser, the three services and the edge', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'activity-service',
        'edge',
        'kafka',
        'kafka-topics',
        'mongo',
        'redis',
        'stream-gateway',
        'users-service',
      ].sort(),
    );
  });

  for (const [name, svc] of Object.entries(ours)) {
    it(`${name}: every variable is one the service reads, the values pass its config validation, the port is its default, the healthcheck asks /readyz`, () => {
      const service = compose.services[name]!;
      // Secrets compose takes from the caller's environment (`${NAME:?...}`) get a stand-in of valid length.
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [
          k,
          String(v).startsWith('${') ? 'x'.repeat(40) : String(v),
        ]),
      );
      for (const key of Object.keys(env))
        expect(Object.keys(svc.shape), `${name} does not read ${key}`).toContain(key);
      const config = svc.load(env);
      expect(config.PORT).toBe(svc.port);
      expect(
        Number(
          svc.load({ JWT_SECRET: 'x'.repeat(40), USERS_EVENTS_SIGNING_KEY: 'x'.repeat(40) }).PORT,
        ),
      ).toBe(svc.port);
      expect(service.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${svc.port}/readyz`);
      expect(
        Object.values(service.depends_on ?? {}).every((d) => d.condition.startsWith('service_')),
      ).toBe(true);
    });
  }

  it('creates every topic from the contracts with its documented partition count', () => {
    const script = compose.services['kafka-topics']!.command!.join('\n');
    for (const [topic, partitions] of Object.entries(TopicPartitions)) {
      expect(script).toContain(`${topic}:${partitions}`);
      expect(script).toContain(`${dlqTopic(topic)}:1`);
    }
  });

  it('believes only its own edge: the services trust one hop, and the edge replaces the forwarding headers a client sent', () => {
    for (const name of ['users-service', 'activity-service', 'stream-gateway'])
      expect(compose.services[name]!.environment?.TRUST_PROXY, name).toBe('1');
    const conf = readFileSync(resolve(root, 'infra/compose/edge.nginx.conf'), 'utf8');
    expect(conf).toContain('proxy_set_header X-Forwarded-For $remote_addr;');
    expect(conf).not.toContain('$proxy_add_x_forwarded_for');
    expect(conf).toContain('proxy_set_header X-Forwarded-Proto $scheme;');
  });

  it('puts every topic on broker time, those created before included', () => {
    const script = compose.services['kafka-topics']!.command!.join('\n');
    expect(script).toContain('--config message.timestamp.type=LogAppendTime');
    expect(script).toContain('--alter --entity-type topics');
    expect(compose.services.kafka!.environment).toMatchObject({
      KAFKA_LOG_MESSAGE_TIMESTAMP_TYPE: 'LogAppendTime',
    });
  });

  it('routes like the local edge', () => {
    const conf = readFileSync(resolve(root, 'infra/compose/edge.nginx.conf'), 'utf8');
    const locations = [
      ...conf.matchAll(/location\s+(~|=)?\s*(\S+)\s*\{[^}]*?proxy_pass http:\/\/(\w+)/g),
    ].map((m) => ({ kind: m[1], pattern: m[2]!, upstream: m[3]! }));
    const nginxUpstream = (path: string): Upstream | undefined => {
      // nginx: regex locations in order win over the longest matching prefix.
      const regex = locations.find((l) => l.kind === '~' && new RegExp(l.pattern).test(path));
      if (regex) return regex.upstream as Upstream;
      const prefix = locations
        .filter((l) => !l.kind && path.startsWith(l.pattern))
        .sort((a, b) => b.pattern.length - a.pattern.length)[0];
      return prefix?.upstream as Upstream | undefined;
    };
    for (const path of [
      '/api/v1/users',
      '/api/v1/users/42',
      '/api/v1/users/42/workspaces',
      '/api/v1/workspaces/3/permissions',
      '/api/v1/groups',
      '/api/v1/users/42/activities',
      '/api/v1/users/42/activity-count',
      '/api/v1/users/42/active-workspaces',
      '/api/v1/activities',
      '/api/v1/users/42/activity-stream',
      '/demo',
      '/metrics',
      '/readyz',
      '/',
    ]) {
      expect(nginxUpstream(path), path).toBe(upstreamFor(path));
    }
  });
});
