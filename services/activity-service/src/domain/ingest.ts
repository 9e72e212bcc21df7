import {
  AppError,
  eventTimeProblem,
  type ActivityEvent,
  type EventTimeWindow,
} from '@suite/contracts';
import { isAdmin, type Principal } from '@suite/auth';

/**
 * The `source` namespace a publishing token owns: `/<sub>` and everything below it. A token for
 * `billing` publishes as `/billing` or `/billing/invoices`, never as `/users-service`; admins
 * publish as any source (they may do everything).
 */
export function sourceNamespace(principal: Principal): string | undefined {
  return isAdmin(principal) ? undefined : `/${principal.sub}`;
}

/**
 * What POST /activities refuses in events that passed the schema: a `source` outside the token's
 * namespace (403, nothing published) or a `time` outside the window around the request's arrival
 * (400, nothing published). `paths` names each event in the body as the validation details do.
 */
export function assertPublishable(
  events: ActivityEvent[],
  principal: Principal,
  receivedAtMs: number,
  window: EventTimeWindow,
  paths: (i: number) => string,
): void {
  const namespace = sourceNamespace(principal);
  if (namespace !== undefined) {
    const foreign = events.findIndex(
      (e) => e.source !== namespace && !e.source.startsWith(`${namespace}/`),
    );
    if (foreign >= 0) {
      throw new AppError(
        'forbidden',
        `this token publishes as source "${namespace}" or below it; ${paths(foreign)}.source is "${events[foreign]!.source}"`,
      );
    }
  }
  const details = events.flatMap((event, i) => {
    const problem = eventTimeProblem(Date.parse(event.time), receivedAtMs, window);
    return problem ? [{ path: `${paths(i)}.time`, message: problem, code: 'out_of_window' }] : [];
  });
  if (details.length > 0) throw new AppError('validation_failed', 'invalid body', details);
}
