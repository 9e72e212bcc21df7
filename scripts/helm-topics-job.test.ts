// The chart's topic Job against a Kafka that wants TLS and SCRAM, as the production values do:
// the Job is rendered by helm, and its exact script runs here with the broker's CA where the Job
// mounts it and `kafka-topics.sh` on PATH (the same TopicCommand as the apache/kafka image).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  ensureHelm,
  ensureKafkaJars,
  freePort,
  kafkaClusterId,
  run,
  startDaemon,
  stopDaemon,
  waitFor,
} from '@suite/local-infra';

const exec = promisify(execFile);
const chart = resolve(import.meta.dirname, '..', 'infra/helm/activity-suite');
const USER = 'topics-admin';
// Shell and JAAS both see it: a space, a dollar and a backquote must reach Kafka as they are.
const PASSWORD = 'pa ss$word`1';

let dir: string;
let libs: string;
let port: number;
let helm: string;
const name = `kafka-sasl-ssl-${process.pid}`;

/** Keystore and PEM CA for 127.0.0.1, made by Java's keytool. */
async function certificates(): Promise<void> {
  await run('keytool', [
    '-genkeypair',
    '-alias',
    'broker',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-validity',
    '2',
    '-dname',
    'CN=127.0.0.1',
    '-ext',
    'SAN=IP:127.0.0.1,DNS:localhost',
    '-keystore',
    join(dir, 'broker.p12'),
    '-storetype',
    'PKCS12',
    '-storepass',
    'changeit',
    '-keypass',
    'changeit',
  ]);
  await run('keytool', [
    '-exportcert',
    '-rfc',
    '-alias',
    'broker',
    '-keystore',
    join(dir, 'broker.p12'),
    '-storetype',
    'PKCS12',
    '-storepass',
    'changeit',
    '-file',
    join(dir, 'ca.crt'),
  ]);
}

/** A single-node KRaft broker whose only client listener is SASL_SSL with SCRAM-SHA-512. */
async function startBroker(): Promise<void> {
  const [controller, internal] = [await freePort(), await freePort()];
  const props = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controller}`,
    `listeners=INTERNAL://127.0.0.1:${internal},CONTROLLER://127.0.0.1:${controller},EXTERNAL://127.0.0.1:${port}`,
    `advertised.listeners=INTERNAL://127.0.0.1:${internal},EXTERNAL://127.0.0.1:${port}`,
    'listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:SASL_SSL',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=INTERNAL',
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    `ssl.keystore.location=${join(dir, 'broker.p12')}`,
    'ssl.keystore.type=PKCS12',
    'ssl.keystore.password=changeit',
    'ssl.key.password=changeit',
    `log.dirs=${join(dir, 'data')}`,
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'auto.create.topics.enable=false',
  ];
  writeFileSync(join(dir, 'server.properties'), `${props.join('\n')}\n`);
  writeFileSync(
    join(dir, 'log4j.properties'),
    'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n',
  );
  const jvm = [
    '-Xmx512m',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    '-cp',
    `${libs}/*`,
  ];
  // The SCRAM credential is written with the cluster's metadata (KRaft has no ZooKeeper to put it in).
  await run('java', [
    ...jvm,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    kafkaClusterId(),
    '-c',
    join(dir, 'server.properties'),
    '--add-scram',
    `SCRAM-SHA-512=[name=${USER},password=${JSON.stringify(PASSWORD)}]`,
  ]);
  const daemon = startDaemon(name, 'java', [...jvm, 'kafka.Kafka', join(dir, 'server.properties')]);
  await waitFor(
    'kafka (SASL_SSL)',
    () => admin(PASSWORD, (a) => a.listTopics()),
    90_000,
    daemon.logFile,
  );
}

/** A kafkajs admin over TLS (trusting the test CA) and SCRAM. */
async function admin<T>(
  password: string,
  use: (a: ReturnType<Kafka['admin']>) => Promise<T>,
): Promise<T> {
  const kafka = new Kafka({
    brokers: [`127.0.0.1:${port}`],
    ssl: { ca: [readFileSync(join(dir, 'ca.crt'), 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: USER, password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const a = kafka.admin();
  await a.connect();
  try {
    return await use(a);
  } finally {
    await a.disconnect();
  }
}

/** The rendered Job's container: its script and plain environment values. */
async function renderedJob(
  prefix: string,
): Promise<{ script: string; env: Record<string, string> }> {
  const values = [
    '--set',
    `config.kafka.brokers=127.0.0.1:${port}`,
    '--set',
    'config.kafka.ssl=true',
    '--set',
    'config.kafka.saslMechanism=scram-sha-512',
    '--set',
    `config.kafka.topicPrefix=${prefix}`,
    '--set',
    'secrets.existingSecret=connections',
    '--set',
    'topics.caSecret=kafka-ca',
    '--set',
    'topics.replicationFactor=1',
  ];
  const { stdout } = await exec(helm, [
    'template',
    'suite',
    chart,
    '--kube-version',
    '1.31.0',
    '--show-only',
    'templates/topics-job.yaml',
    ...values,
  ]);
  const job = parseAllDocuments(stdout)[0]!.toJS() as {
    spec: {
      template: {
        spec: {
          containers: {
            args: string[];
            env: {
              name: string;
              value?: string;
              valueFrom?: { secretKeyRef: { name: string; key: string } };
            }[];
            volumeMounts: { mountPath: string; name: string }[];
          }[];
          volumes: { name: string; secret?: { secretName: string } }[];
        };
      };
    };
  };
  const pod = job.spec.template.spec;
  const container = pod.containers[0]!;
  // The Secrets the Job reads: the credentials from the existing Secret, the CA from topics.caSecret.
  expect(
    container.env
      .filter((e) => e.valueFrom)
      .map((e) => [e.name, e.valueFrom!.secretKeyRef.name, e.valueFrom!.secretKeyRef.key]),
  ).toEqual([
    ['KAFKA_SASL_USERNAME', 'connections', 'TOPICS_KAFKA_SASL_USERNAME'],
    ['KAFKA_SASL_PASSWORD', 'connections', 'TOPICS_KAFKA_SASL_PASSWORD'],
  ]);
  expect(pod.volumes.find((v) => v.name === 'kafka-ca')?.secret?.secretName).toBe('kafka-ca');
  expect(container.volumeMounts.find((m) => m.name === 'kafka-ca')?.mountPath).toBe(
    '/etc/kafka-ca',
  );
  return {
    script: container.args[0]!,
    env: Object.fromEntries(
      container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
    ),
  };
}

/** Runs the Job's script as its container would: the volumes at the paths it mounts them, the image's tool on PATH. */
async function runJob(
  job: { script: string; env: Record<string, string> },
  password: string,
): Promise<{ code: number; output: string }> {
  const work = mkdtempSync(join(dir, 'job-'));
  const script = job.script.replaceAll('/tmp/', `${work}/`).replaceAll('/etc/kafka-ca/', `${dir}/`);
  const child = spawn('/bin/sh', ['-c', script], {
    env: {
      ...job.env,
      PATH: `${join(dir, 'bin')}:${job.env.PATH}`,
      KAFKA_SASL_USERNAME: USER,
      KAFKA_SASL_PASSWORD: password,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
  return { code, output };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'topics-job-'));
  [helm, libs, port] = await Promise.all([ensureHelm(), ensureKafkaJars(), freePort()]);
  await certificates();
  // kafka-topics.sh as the apache/kafka image has it: TopicCommand on the broker's classpath.
  await run('mkdir', ['-p', join(dir, 'bin')]);
  writeFileSync(
    join(dir, 'bin', 'kafka-topics.sh'),
    `#!/bin/sh\nexec java -Xmx256m -Dlog4j.configuration=file:${join(dir, 'log4j.properties')} -cp '${libs}/*' org.apache.kafka.tools.TopicCommand "$@"\n`,
  );
  chmodSync(join(dir, 'bin', 'kafka-topics.sh'), 0o755);
  // kafka-configs.sh likewise: ConfigCommand from the broker's jar.
  writeFileSync(
    join(dir, 'bin', 'kafka-configs.sh'),
    `#!/bin/sh\nexec java -Xmx256m -Dlog4j.configuration=file:${join(dir, 'log4j.properties')} -cp '${libs}/*' kafka.admin.ConfigCommand "$@"\n`,
  );
  chmodSync(join(dir, 'bin', 'kafka-configs.sh'), 0o755);
  await startBroker();
}, 180_000);

afterAll(async () => {
  await stopDaemon(name);
  rmSync(dir, { recursive: true, force: true });
});

describe('the topic Job on a TLS + SCRAM Kafka', () => {
  it('creates every topic with its partitions on broker time, moves an existing one to broker time, and running again (an upgrade) changes nothing', async () => {
    const job = await renderedJob('jobtest.');
    // A topic that an older install created on producer time.
    await admin(PASSWORD, (a) =>
      a.createTopics({
        topics: [
          {
            topic: 'jobtest.users.events.dlq',
            numPartitions: 1,
            replicationFactor: 1,
            configEntries: [{ name: 'message.timestamp.type', value: 'CreateTime' }],
          },
        ],
      }),
    );
    for (let round = 0; round < 2; round++) {
      const result = await runJob(job, PASSWORD);
      expect(result.code, result.output).toBe(0);
    }
    const topics = await admin(PASSWORD, (a) =>
      a.fetchTopicMetadata({
        topics: [
          'jobtest.activity.events',
          'jobtest.users.events',
          'jobtest.inbox.events',
          'jobtest.activity.events.dlq',
          'jobtest.users.events.dlq',
          'jobtest.inbox.events.dlq',
        ],
      }),
    );
    expect(Object.fromEntries(topics.topics.map((t) => [t.name, t.partitions.length]))).toEqual({
      'jobtest.activity.events': 6,
      'jobtest.users.events': 3,
      'jobtest.inbox.events': 6,
      'jobtest.activity.events.dlq': 1,
      'jobtest.users.events.dlq': 1,
      'jobtest.inbox.events.dlq': 1,
    });
    const configs = await admin(PASSWORD, (a) =>
      a.describeConfigs({
        includeSynonyms: false,
        resources: topics.topics.map((t) => ({
          type: ConfigResourceTypes.TOPIC,
          name: t.name,
          configNames: ['message.timestamp.type'],
        })),
      }),
    );
    expect(configs.resources.map((r) => [r.resourceName, r.configEntries[0]?.configValue])).toEqual(
      topics.topics.map((t) => [t.name, 'LogAppendTime']),
    );
  }, 180_000);

  it('fails (so the install fails) with a wrong password, creating nothing', async () => {
    const result = await runJob(await renderedJob('refused.'), 'not-the-password');
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/Authentication failed|SaslAuthenticationException/);
    const names = await admin(PASSWORD, (a) => a.listTopics());
    expect(names.filter((t) => t.startsWith('refused.'))).toEqual([]);
  }, 120_000);
});
