export * from './paths.js';
export * from './process.js';
export * from './probes.js';
export * from './servers.js';
export * from './topics.js';
export * from './suite.js';
export * from './helm.js';
