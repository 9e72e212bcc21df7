import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cacheDir, ensureDir, packageDir, stateDir } from './paths.js';
import { hasTool, requireTool, run, startDaemon, succeeds, waitFor } from './process.js';
import { probeKafka, probeMongo, probeRedis, probeRedisCluster } from './probes.js';

/** Pinned versions; see README "Local infrastructure" for why. */
export const Versions = {
  // 3.9.x is the newest line that still serves every protocol version kafkajs 2.2 speaks;
  // Kafka 4.0 removed old API versions (KIP-896) that kafkajs depends on.
  kafka: '3.9.1',
  ferretdb: 'v1.24.2',
} as const;

export interface Provisioned {
  name: string;
  url: string;
  reused: boolean;
  detail: string;
}

function firstLine(command: string, args: string[]): string {
  const out = spawnSync(command, args, { encoding: 'utf8' });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0] ?? 'unknown';
}

/** A redis-server on loopback without persistence, its files in `dir`. */
function redisArgs(port: number, dir: string): string[] {
  return [
    ...['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes'],
    ...['--save', '', '--appendonly', 'no', '--dir', dir, '--maxclients', '20000'],
  ];
}

/** Redis from the distribution's redis-server. */
export async function ensureRedis(port = 6379, name = 'redis'): Promise<Provisioned> {
  const url = `redis://127.0.0.1:${port}`;
  if (await succeeds(probeRedis(url)))
    return { name, url, reused: true, detail: 'already answering PING' };
  requireTool('redis-server', 'Install it with: apt-get install -y redis-server');
  const dir = ensureDir(join(stateDir, name));
  const daemon = startDaemon(name, 'redis-server', redisArgs(port, dir));
  await waitFor('redis', () => probeRedis(url), 15_000, daemon.logFile);
  return { name, url, reused: false, detail: firstLine('redis-server', ['--version']) };
}

/** The default ports of the local Redis Cluster's three primaries. */
export const REDIS_CLUSTER_PORTS = [7001, 7002, 7003] as const;

/** The `REDIS_URL` naming a Redis Cluster by its seed nodes (see `@suite/redis`). */
export function redisClusterUrl(ports: readonly number[]): string {
  return `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`;
}

/**
 * A Redis Cluster of three (or more) primaries from the distribution's redis-server, on loopback,
 * without persistence and without replicas: each primary is `<name>-<port>`, the slots are split
 * evenly by `redis-cli --cluster create`. Reused when every node already answers and the cluster
 * says `cluster_state:ok`.
 */
export async function ensureRedisCluster(
  ports: readonly number[] = REDIS_CLUSTER_PORTS,
  name = 'redis-cluster',
): Promise<Provisioned> {
  const url = redisClusterUrl(ports);
  if (await succeeds(probeRedisCluster(url)))
    return {
      name,
      url,
      reused: true,
      detail: 'already answering CLUSTER INFO with cluster_state:ok',
    };
  requireTool('redis-server', 'Install it with: apt-get install -y redis-server');
  requireTool('redis-cli', 'Install it with: apt-get install -y redis-tools');
  await Promise.all(ports.map((port) => startClusterNode(port, `${name}-${port}`)));
  const formed = await succeeds(probeRedisCluster(url));
  if (!formed) {
    // Nodes that already know each other (a restart) only need time to agree; new ones are joined.
    const known = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
    if (/cluster_known_nodes:1\b/.test(known)) {
      await run('redis-cli', [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
    }
  }
  await waitFor('redis cluster', () => probeRedisCluster(url), 30_000);
  return {
    name,
    url,
    reused: false,
    detail: `${ports.length} primaries, ${firstLine('redis-server', ['--version'])}`,
  };
}

/** Starts one cluster node (`--cluster-enabled yes`, its node table in its own directory). */
export async function startClusterNode(port: number, name: string, fresh = false): Promise<void> {
  const url = `redis://127.0.0.1:${port}`;
  if (await succeeds(probeRedis(url))) return;
  const dir = join(stateDir, name);
  if (fresh) rmSync(dir, { recursive: true, force: true });
  ensureDir(dir);
  const daemon = startDaemon(name, 'redis-server', [
    ...redisArgs(port, dir),
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    ...['--cluster-node-timeout', '2000'],
  ]);
  await waitFor(name, () => probeRedis(url), 15_000, daemon.logFile);
}

/** The Kafka broker's jars, resolved once from Maven Central into the cache. */
export async function ensureKafkaJars(): Promise<string> {
  const libs = join(cacheDir, `kafka-${Versions.kafka}`, 'libs');
  const marker = join(libs, '.complete');
  // Resolved again when the pom changes (the marker holds the pom's hash).
  const pom = createHash('sha256')
    .update(readFileSync(join(packageDir, 'kafka-pom.xml')))
    .digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === pom) return libs;
  requireTool(
    'java',
    'Install a Java 17+ runtime, e.g.: apt-get install -y openjdk-17-jre-headless',
  );
  requireTool('mvn', 'Install Maven, e.g.: apt-get install -y maven');
  rmSync(libs, { recursive: true, force: true });
  await run('mvn', [
    '-B',
    '-q',
    '-f',
    join(packageDir, 'kafka-pom.xml'),
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${libs}`,
    `-Dkafka.version=${Versions.kafka}`,
  ]);
  writeFileSync(marker, pom);
  return libs;
}

/**
 * Apache Kafka in KRaft mode, single node, on the machine's Java. The controller listens on
 * `controllerPort`; callers that picked `port` from the OS pass a second free port, since the
 * port after an ephemeral one may be any client socket's (a disposable broker once failed to
 * bind it).
 */
export async function ensureKafka(
  port = 9092,
  name = 'kafka',
  controllerPort = port + 1,
): Promise<Provisioned> {
  const brokers = [`127.0.0.1:${port}`];
  if (await succeeds(probeKafka(brokers)))
    return { name, url: brokers[0]!, reused: true, detail: 'already answering metadata' };
  const libs = await ensureKafkaJars();
  const home = ensureDir(join(stateDir, name));
  const dataDir = join(home, 'data');
  const config = writeKafkaConfig(home, kafkaProperties(port, controllerPort, dataDir));
  const jvm = [
    ...['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-Djava.awt.headless=true'],
    `-Dlog4j.configuration=file:${config.log4j}`,
    ...['-cp', `${libs}/*`],
  ];
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const format = ['format', '-t', kafkaClusterId(), '-c', config.server];
    await run('java', [...jvm, 'kafka.tools.StorageTool', ...format]);
  }
  const daemon = startDaemon(name, 'java', [...jvm, 'kafka.Kafka', config.server]);
  await waitFor('kafka', () => probeKafka(brokers), 90_000, daemon.logFile);
  const detail = `Apache Kafka ${Versions.kafka} (KRaft)`;
  return { name, url: brokers[0]!, reused: false, detail };
}

/** A single-node KRaft broker and controller on loopback, its log in `dataDir`. */
function kafkaProperties(port: number, controllerPort: number, dataDir: string): string[] {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // A router killed mid-transaction holds read_committed consumers back until its transaction times
    // out (the router asks 10 s): look for timed-out transactions every second rather than every 10.
    'transaction.abort.timed.out.transaction.cleanup.interval.ms=1000',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    // Broker time on every topic, auto-created ones included: no producer moves the time window or dedup clock.
    'log.message.timestamp.type=LogAppendTime',
    'delete.topic.enable=true',
    'log.retention.hours=-1',
  ];
}

/** Writes the broker's properties and a quiet log4j config into `home`; returns their paths. */
function writeKafkaConfig(home: string, props: string[]): { server: string; log4j: string } {
  const server = join(home, 'server.properties');
  const log4j = join(home, 'log4j.properties');
  writeFileSync(server, `${props.join('\n')}\n`);
  const logging = [
    'log4j.rootLogger=WARN, stdout',
    'log4j.logger.kafka.server.KafkaRaftServer=INFO',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  ];
  writeFileSync(log4j, `${logging.join('\n')}\n`);
  return { server, log4j };
}

/** FerretDB built from its v1 Go module; the build needs the version file the module zip omits. */
export async function ensureFerretDb(): Promise<string> {
  const binary = join(cacheDir, `ferretdb-${Versions.ferretdb}`, 'ferretdb');
  if (existsSync(binary)) return binary;
  requireTool('go', 'Install Go 1.22+ (https://go.dev/doc/install), or put a mongod on PATH');
  const module = `github.com/FerretDB/FerretDB@${Versions.ferretdb}`;
  const out = await run('go', ['mod', 'download', '-json', module], { cwd: cacheDir });
  const source = (JSON.parse(out) as { Dir: string }).Dir;
  const build = join(cacheDir, `ferretdb-src-${Versions.ferretdb}`);
  rmSync(build, { recursive: true, force: true });
  cpSync(source, build, { recursive: true });
  chmodRecursive(build);
  writeFileSync(join(build, 'build', 'version', 'version.txt'), `${Versions.ferretdb}\n`);
  await run('go', ['build', '-trimpath', '-o', binary, './cmd/ferretdb'], { cwd: build });
  rmSync(build, { recursive: true, force: true });
  return binary;
}

function chmodRecursive(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chmodRecursive(path);
    else chmodSync(path, 0o644);
  }
}

/** Debian's PostgreSQL server binaries (initdb, pg_ctl), newest version installed; undefined when absent. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** The cluster's folder; as root it must sit where the `postgres` user can reach (not under /root). */
function postgresDir(name: string): string {
  return process.getuid?.() === 0 ? join('/var/tmp/activity-suite', name) : join(stateDir, name);
}

/** PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', command, ...args]]
    : [command, args];
}

/** A PostgreSQL cluster for FerretDB's postgresql backend, on loopback, trust auth. */
export async function ensurePostgres(port: number, name: string): Promise<string> {
  const bin = postgresBin();
  if (!bin)
    throw new Error(
      'PostgreSQL is not installed (FerretDB stores its data there). Install it with: apt-get install -y postgresql (or set SUITE_FERRETDB_BACKEND=sqlite, which is much slower)',
    );
  const dir = ensureDir(postgresDir(name));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres', dir]);
  if (!existsSync(join(data, 'PG_VERSION'))) {
    const init = ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'];
    await run(...asPostgres(join(bin, 'initdb'), init));
  }
  const loopback = ['-h', '127.0.0.1', '-p', String(port)];
  const ready = () => run(...asPostgres(join(bin, 'pg_isready'), loopback));
  if (!(await succeeds(ready()))) {
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
    const start = ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-o', options, 'start'];
    await run(...asPostgres(join(bin, 'pg_ctl'), start));
  }
  await waitFor('postgres', ready, 30_000, join(dir, 'postgres.log'));
  const asSuperuser = [...loopback, '-U', 'postgres'];
  await run(...asPostgres(join(bin, 'createdb'), [...asSuperuser, 'ferretdb'])).catch(
    () => undefined,
  );
  // As the caller, over loopback (trust auth): the postgres user may not be able to read this checkout.
  const sql = join(packageDir, 'src', 'ferretdb-gin.sql');
  await run(join(bin, 'psql'), [
    ...asSuperuser,
    '-d',
    'ferretdb',
    '-v',
    'ON_ERROR_STOP=1',
    '-q',
    '-f',
    sql,
  ]);
  return `postgres://postgres@127.0.0.1:${port}/ferretdb`;
}

/** Stops a PostgreSQL cluster this project started (no-op when there is none); `remove` deletes its files too. */
export async function stopPostgres(name: string, remove = false): Promise<boolean> {
  const bin = postgresBin();
  const data = join(postgresDir(name), 'data');
  const running = bin !== undefined && existsSync(join(data, 'postmaster.pid'));
  if (running)
    await run(...asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', 'stop'])).catch(
      () => undefined,
    );
  if (remove) rmSync(postgresDir(name), { recursive: true, force: true });
  return running;
}

/**
 * Which FerretDB backend to use: `SUITE_FERRETDB_BACKEND` (postgresql, the default, or sqlite).
 * PostgreSQL is the default because it is the one whose pushed-down equalities can use an index
 * (ferretdb-gin.sql); on SQLite every query but an exact `_id` lookup scans the collection.
 */
function ferretBackend(): 'sqlite' | 'postgresql' {
  return process.env.SUITE_FERRETDB_BACKEND === 'sqlite' ? 'sqlite' : 'postgresql';
}

/** A MongoDB-wire server: `mongod` when on PATH, otherwise FerretDB on PostgreSQL (or SQLite). */
export async function ensureMongo(
  port = 27017,
  name = 'mongo',
  postgresPort = port + 10_000,
): Promise<Provisioned> {
  const url = `mongodb://127.0.0.1:${port}`;
  if (await succeeds(probeMongo(url)))
    return { name, url, reused: true, detail: 'already answering ping' };
  const dir = ensureDir(join(stateDir, name));
  if (hasTool('mongod')) {
    const daemon = startDaemon(name, 'mongod', [
      '--dbpath',
      dir,
      '--port',
      String(port),
      '--bind_ip',
      '127.0.0.1',
      '--quiet',
    ]);
    await waitFor('mongod', () => probeMongo(url), 60_000, daemon.logFile);
    return { name, url, reused: false, detail: firstLine('mongod', ['--version']) };
  }
  mkdirSync(cacheDir, { recursive: true });
  const binary = await ensureFerretDb();
  const backend = ferretBackend();
  const handler =
    backend === 'postgresql'
      ? [
          '--handler=postgresql',
          `--postgresql-url=${await ensurePostgres(postgresPort, `${name}-postgres`)}`,
        ]
      : ['--handler=sqlite', `--sqlite-url=file:${ensureDir(join(dir, 'sqlite'))}/`];
  const daemon = startDaemon(name, binary, [
    ...handler,
    `--state-dir=${dir}`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=127.0.0.1:0',
    '--telemetry=disable',
    '--log-level=warn',
  ]);
  await waitFor('ferretdb', () => probeMongo(url), 60_000, daemon.logFile);
  return {
    name,
    url,
    reused: false,
    detail: `FerretDB ${Versions.ferretdb} (${backend === 'postgresql' ? 'PostgreSQL' : 'SQLite'})`,
  };
}

/**
 * A KRaft cluster id: 16 random bytes in base64url, never starting with '-' (the storage tool
 * would read `-t -abc…` as an option; Kafka's own Uuid.randomUuid avoids the same thing).
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
