import { z } from 'zod';
import { ID_PATTERN } from './params.js';

/** RFC 3339 timestamp with an explicit offset, as CloudEvents `time` requires. */
export const Rfc3339 = z.iso.datetime({ offset: true });

/** A decimal integer id carried as a string (CloudEvents `subject`, Kafka keys). */
export const IdString = z
  .string()
  .regex(ID_PATTERN, 'must be a positive integer id of at most 15 digits');

/** Limits on CloudEvents extension attributes. */
export const CloudEventLimits = { extensionsMax: 16, extensionValueMaxChars: 256 } as const;

/** The attribute names the CloudEvents spec allows: lower-case ASCII letters and digits, at most 20. */
export const CLOUDEVENT_ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

/** The context attributes an activity event defines; anything else is an extension. */
const CONTEXT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'traceparent',
  'data',
];

/**
 * Builds the CloudEvents 1.0 structured-mode schema around a `data` schema. Extension attributes
 * (e.g. the Kafka binding's `partitionkey`, `tracestate`, `dataschema`) are accepted when their
 * names and values are well formed, and ignored: `data` and the attributes used here stay strict.
 */
export function cloudEvent<T extends z.ZodTypeAny, K extends string>(type: K, data: T) {
  const extensionsMax = CONTEXT_ATTRIBUTES.length + CloudEventLimits.extensionsMax;
  return z
    .object({
      specversion: z.literal('1.0'),
      // No control characters (Unicode Cc, spelled as ranges every regex engine reads): the feed orders
      // entries by `time:id` and a newline ends the id.
      id: z
        .string()
        .min(1)
        .max(128)
        // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
        .regex(/^[^\u0000-\u001f\u007f-\u009f]+$/, 'must not contain control characters'),
      source: z.string().min(1).max(256),
      type: z.literal(type),
      // JSON Schema cannot state a window relative to now; the description says it (the validators check it).
      time: Rfc3339.describe(
        "RFC 3339 with an offset. Must lie within the accepted window around the event's arrival (by default 30 days before to 5 minutes after; EVENT_MAX_AGE_S, EVENT_MAX_AHEAD_S): else 400 `out_of_window` over HTTP, dead letter on Kafka",
      ),
      subject: IdString,
      datacontenttype: z.literal('application/json').optional(),
      traceparent: z.string().max(64).optional(),
      data,
    })
    .catchall(
      z.union([z.string().max(CloudEventLimits.extensionValueMaxChars), z.number(), z.boolean()]),
    )
    .refine((event) => Object.keys(event).every((name) => CLOUDEVENT_ATTRIBUTE_NAME.test(name)), {
      message: 'extension attribute names are lower-case letters and digits, at most 20',
    })
    .refine((event) => Object.keys(event).length <= extensionsMax, {
      message: `at most ${extensionsMax} attributes in all (${CloudEventLimits.extensionsMax} beyond the ones defined here)`,
    })
    .meta({
      propertyNames: { pattern: CLOUDEVENT_ATTRIBUTE_NAME.source },
      maxProperties: extensionsMax,
    });
}

/**
 * The structured form of a binary-mode CloudEvent, or undefined when `headers` do not carry one (no
 * `<prefix>specversion`). Attributes are the headers named `<prefix><attribute>` (Kafka `ce_`,
 * HTTP `ce-`; any case), each value passed through `decodeValue` (HTTP percent-encodes); `data` is
 * the value or body. A JSON `content-type` (parameters such as a charset allowed) becomes
 * `datacontenttype: application/json`; any other is kept, for the contract to refuse.
 */
export function fromBinaryMode(
  headers: Record<string, string | string[] | undefined>,
  prefix: 'ce_' | 'ce-',
  data: unknown,
  decodeValue: (value: string, header: string) => string = (value) => value,
): Record<string, unknown> | undefined {
  const event: Record<string, unknown> = {};
  let contentType: string | undefined;
  for (const [header, value] of Object.entries(headers)) {
    if (typeof value !== 'string') continue;
    const name = header.toLowerCase();
    if (name === 'content-type') contentType = value;
    else if (name.length > prefix.length && name.startsWith(prefix))
      event[name.slice(prefix.length)] = decodeValue(value, name);
  }
  if (event.specversion === undefined) return undefined;
  if (contentType !== undefined) {
    const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
    event.datacontenttype = mediaType === 'application/json' ? 'application/json' : contentType;
  }
  event.data = data;
  return event;
}
