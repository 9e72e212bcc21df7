import WebSocket from 'ws';
import { StreamMessage, type StreamMessage as Message } from '@suite/contracts';
import { ActivityPublisher } from '@suite/publisher';
import {
  startInProcess,
  TEST_JWT_SECRET,
  testInfra,
  testTokens,
  type TestInfra,
} from '@suite/testkit';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import {
  createGatewayService,
  loadGatewayConfig,
  type GatewayService,
} from '@suite/stream-gateway';
import type { RunningServer } from '@suite/server-kit';

export const secret = TEST_JWT_SECRET;

/** The real path: publisher → Kafka → activity-service → Redis → gateway(s), all on one test's names. */
export async function startStack(
  label: string,
  env: Record<string, string> = {},
  gateways = 1,
  on: TestInfra = testInfra(),
) {
  const activity = await startInProcess(label, loadActivityConfig, createActivityService, {
    env,
    infra: on,
  });
  const { names, infra } = activity;
  const replicas: { service: GatewayService; server: RunningServer }[] = [];
  for (let i = 0; i < gateways; i++) {
    replicas.push(
      await startInProcess(label, loadGatewayConfig, createGatewayService, {
        names,
        infra,
        env: { STREAM_ALLOWED_ORIGINS: 'http://allowed.example', ...env },
      }),
    );
  }
  const publisher = new ActivityPublisher({
    brokers: infra.kafkaBrokers,
    topicPrefix: names.topicPrefix,
  });
  return {
    infra,
    names,
    publisher,
    replicas,
    activity: activity.service,
    /** The activity-service's own HTTP origin (reads and ingestion). */
    activityUrl: activity.server.url,
    url: (userId: number, i = 0) =>
      `${replicas[i]!.server.url.replace('http', 'ws')}/api/v1/users/${userId}/activity-stream`,
    http: (i = 0) => replicas[i]!.server.url,
    stop: async () => {
      await publisher.close();
      for (const r of replicas) await r.service.stop();
      await activity.stop();
    },
  };
}

let n = 0;
/** A day ago: default event times sit inside the activity-service's accepted window around now. */
const T0 = Date.now() - 86_400_000;
export function activityEvent(userId: number, time?: string, extra: Record<string, unknown> = {}) {
  n += 1;
  return {
    specversion: '1.0' as const,
    id: `g-${process.pid}-${Date.now()}-${n}`,
    source: '/publisher/tests',
    type: 'io.activitysuite.activity.recorded' as const,
    time: time ?? new Date(T0 + n * 1000).toISOString(),
    subject: String(userId),
    data: {
      actorId: userId,
      verb: 'viewed',
      object: { type: 'doc', id: String(n) },
      workspaceId: 3,
      ...extra,
    },
  };
}

export const token = (sub: string, options: { roles?: string[]; ttlSeconds?: number } = {}) =>
  testTokens.as(sub, options);

export interface OpenStream {
  ws: WebSocket;
  messages: Message[];
  activities: () => string[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a stream; rejects with the HTTP status when the handshake is refused. */
export function openStream(
  url: string,
  options: WebSocket.ClientOptions & { protocols?: string[] } = {},
): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], options);
    const messages: Message[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => messages.push(StreamMessage.parse(JSON.parse(data.toString()))));
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        closed,
        activities: () => messages.flatMap((m) => (m.type === 'activity' ? [m.activity.id] : [])),
      }),
    );
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode;
      res.resume();
      reject(
        Object.assign(new Error(`handshake refused with ${status}`), {
          status,
          headers: res.headers,
        }),
      );
    });
    ws.on('error', (err) => reject(err));
  });
}

export async function refusedWith(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
  return 101;
}
