import { startInProcess, TEST_JWT_SECRET, testTokens } from '@suite/testkit';
import { createUsersService, loadUsersConfig } from '@suite/users-service';

export const secret = TEST_JWT_SECRET;

/** Starts users-service in-process on its own database and topics. */
export async function startUsersService(label: string, env: Record<string, string> = {}) {
  const started = await startInProcess(label, loadUsersConfig, createUsersService, {
    env: { SHUTDOWN_GRACE_MS: '500', OUTBOX_SWEEP_INTERVAL_MS: '500', ...env },
  });
  return { ...started, usersTopic: `${started.env.KAFKA_TOPIC_PREFIX}users.events` };
}

export const tokens = { ...testTokens, service: testTokens.writer };
