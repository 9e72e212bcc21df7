export * from './errors.js';
export * from './topics.js';
export * from './cloudevents.js';
export * from './activity.js';
export * from './users.js';
export * from './users-events.js';
export * from './health.js';
export * from './stream.js';
