import { USERS_SERVICE_ORIGIN, signOrigin } from '@suite/auth';

/** The users.events origin key every test service is started with (a test value, never a real key). */
export const TEST_ORIGIN_KEY = 'test-users-events-origin-key-0123456789abcdef';

let sequence = 0;

/** A users.events CloudEvent as the users-service's outbox writes it (`type` after `io.activitysuite.`, e.g. `user.access-changed`). */
export function usersEvent(type: string, subject: number, data: Record<string, unknown>) {
  sequence += 1;
  return {
    specversion: '1.0',
    id: `u-${process.pid}-${sequence}`,
    source: '/users-service',
    type: `io.activitysuite.${type}`,
    time: new Date().toISOString(),
    subject: String(subject),
    datacontenttype: 'application/json',
    data,
  };
}

/** A users.events record as the users-service writes it: keyed by subject, with its signed mark of origin. */
export function signedUsersRecord(
  event: { subject: string },
  key = TEST_ORIGIN_KEY,
): { key: string; value: string; headers: Record<string, string> } {
  const value = JSON.stringify(event);
  return { key: event.subject, value, headers: signOrigin(USERS_SERVICE_ORIGIN, key, value) };
}
