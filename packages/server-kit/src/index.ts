export * from './app.js';
export * from './errors.js';
export * from './lifecycle.js';
export * from './metrics.js';
export * from './readiness.js';
export * from './server.js';
export * from './validate.js';
export * from './respond.js';
