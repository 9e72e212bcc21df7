export * from './infra.js';
export * from './isolation.js';
export * from './disposable.js';
export * from './http.js';
export { dockerAnswers } from './containers.js';
export * from './process.js';
export * from './kafka.js';
export * from './load.js';
export * from './origin.js';
