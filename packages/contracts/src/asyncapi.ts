import { z } from 'zod';
import { ActivityData, ActivityEvent } from './activity.js';
import { InboxDeliveredEvent, InboxMarkedEvent } from './inbox.js';
import { TRACEPARENT } from './stream.js';
import { DlqHeaders, TopicPartitions, Topics, dlqTopic } from './topics.js';
import {
  AccessChangedEvent,
  UserCreatedEvent,
  UserDeletedEvent,
  UserUpdatedEvent,
  WorkspaceDeletedEvent,
  WorkspaceRenamedEvent,
} from './users-events.js';

const schema = (s: z.ZodType) =>
  z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });

const usersMessages = {
  userCreated: UserCreatedEvent,
  userUpdated: UserUpdatedEvent,
  userDeleted: UserDeletedEvent,
  accessChanged: AccessChangedEvent,
  workspaceRenamed: WorkspaceRenamedEvent,
  workspaceDeleted: WorkspaceDeletedEvent,
};

const TRACE_HEADERS = {
  type: 'object',
  properties: {
    traceparent: {
      type: 'string',
      pattern: TRACEPARENT.source,
      description:
        'W3C trace context of the request that published the event (optional; the event attribute of the same name wins)',
    },
  },
};

/** An activity in both of the CloudEvents Kafka binding's content modes. */
function activityMessages(): Record<string, unknown> {
  const attributes = ['specversion', 'id', 'source', 'type', 'time', 'subject'];
  const ceHeaders = attributes.map((a) => [
    `ce_${a}`,
    { type: 'string', description: `The \`${a}\` attribute` },
  ]);
  return {
    activityRecorded: {
      name: 'activityRecorded',
      title: 'Activity recorded (structured mode)',
      contentType: 'application/cloudevents+json',
      headers: TRACE_HEADERS,
      payload: schema(ActivityEvent),
    },
    activityRecordedBinary: {
      name: 'activityRecordedBinary',
      title: 'Activity recorded (binary mode)',
      summary:
        "The CloudEvents Kafka binding's binary content mode: the attributes as `ce_<name>` headers, `content-type: application/json`, the value is `data` alone. Read exactly like the structured form.",
      contentType: 'application/json',
      headers: {
        type: 'object',
        required: attributes.map((a) => `ce_${a}`),
        properties: {
          ...Object.fromEntries(ceHeaders),
          'content-type': { type: 'string', const: 'application/json' },
          ...TRACE_HEADERS.properties,
        },
      },
      payload: schema(ActivityData),
    },
  };
}

/** The document's messages: activities in both content modes, the inbox's, the users events'. */
function messages(): Record<string, unknown> {
  const out: Record<string, unknown> = activityMessages();
  out.inboxDelivered = {
    name: 'inboxDelivered',
    title: 'Notification delivered',
    summary:
      "The inbox router's delivery of one activity to one recipient (written in a Kafka transaction with the router's consumed offsets; read it read_committed). `id` is deterministic: the owner, event id and recipient hashed.",
    contentType: 'application/cloudevents+json',
    payload: schema(InboxDeliveredEvent),
  };
  out.inboxMarked = {
    name: 'inboxMarked',
    title: 'Inbox marked',
    summary:
      "A mark (seen, read, unread, archive, unarchive) from the inbox API. `upTo` is a position of the recipient's inbox; absent, the mark covers everything delivered before it in the partition.",
    contentType: 'application/cloudevents+json',
    payload: schema(InboxMarkedEvent),
  };
  for (const [name, s] of Object.entries(usersMessages))
    out[name] = { name, contentType: 'application/cloudevents+json', payload: schema(s) };
  const dlqHeaders = {
    type: 'object',
    properties: Object.fromEntries(Object.values(DlqHeaders).map((h) => [h, { type: 'string' }])),
  };
  out.deadLetter = { name: 'deadLetter', headers: dlqHeaders, payload: {} };
  return out;
}

/** The AsyncAPI 3.0 document for the suite's topics, generated from the contract schemas. */
export function buildAsyncApi(): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/components/messages/${name}` });
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Activity suite events',
      version: '1.0.0',
      description:
        'CloudEvents 1.0 on Kafka. `activity.events` takes both content modes of the Kafka binding (structured JSON, or binary with `ce_*` headers); well-formed extension attributes (such as `partitionkey`) are accepted and ignored. The Kafka key is the user id (workspace events: the workspace id); `id` is the idempotency key.',
    },
    defaultContentType: 'application/cloudevents+json',
    channels: {
      activityEvents: {
        address: Topics.activityEvents,
        description: `${TopicPartitions[Topics.activityEvents]} partitions, keyed by the user the activity belongs to.`,
        messages: {
          activityRecorded: ref('activityRecorded'),
          activityRecordedBinary: ref('activityRecordedBinary'),
        },
      },
      usersEvents: {
        address: Topics.usersEvents,
        description: `${TopicPartitions[Topics.usersEvents]} partitions; users-service's domain events through its outbox.`,
        messages: Object.fromEntries(Object.keys(usersMessages).map((n) => [n, ref(n)])),
      },
      inboxEvents: {
        address: Topics.inboxEvents,
        description: `${TopicPartitions[Topics.inboxEvents]} partitions, keyed by the recipient: each recipient's deliveries and marks in one order, which a rebuild replays.`,
        messages: { inboxDelivered: ref('inboxDelivered'), inboxMarked: ref('inboxMarked') },
      },
      activityDeadLetters: {
        address: dlqTopic(Topics.activityEvents),
        description:
          'Records the activity-service could not apply, unchanged, with the reason in headers.',
        messages: { deadLetter: { $ref: '#/components/messages/deadLetter' } },
      },
    },
    operations: {
      publishActivity: { action: 'send', channel: { $ref: '#/channels/activityEvents' } },
      consumeActivity: { action: 'receive', channel: { $ref: '#/channels/activityEvents' } },
      publishUsersEvents: { action: 'send', channel: { $ref: '#/channels/usersEvents' } },
      consumeUsersEvents: { action: 'receive', channel: { $ref: '#/channels/usersEvents' } },
      routeInbox: { action: 'send', channel: { $ref: '#/channels/inboxEvents' } },
      consumeInbox: { action: 'receive', channel: { $ref: '#/channels/inboxEvents' } },
      deadLetter: { action: 'send', channel: { $ref: '#/channels/activityDeadLetters' } },
    },
    components: { messages: messages() },
  };
}
