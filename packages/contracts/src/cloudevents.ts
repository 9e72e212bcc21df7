import { z } from 'zod';

/** RFC 3339 timestamp with an explicit offset, as CloudEvents `time` requires. */
export const Rfc3339 = z.iso.datetime({ offset: true });

/** A decimal integer id carried as a string (CloudEvents `subject`, Kafka keys). */
export const IdString = z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer id');

/** Builds the CloudEvents 1.0 structured-mode schema around a `data` schema. */
export function cloudEvent<T extends z.ZodTypeAny, K extends string>(type: K, data: T) {
  return z.strictObject({
    specversion: z.literal('1.0'),
    // No control characters: the feed orders entries by `time:id` and a newline ends the id.
    id: z.string().min(1).max(128).regex(/^\P{Cc}+$/u, 'must not contain control characters'),
    source: z.string().min(1).max(256),
    type: z.literal(type),
    time: Rfc3339,
    subject: IdString,
    datacontenttype: z.literal('application/json').optional(),
    traceparent: z.string().max(64).optional(),
    data,
  });
}
