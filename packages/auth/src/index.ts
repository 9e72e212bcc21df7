export * from './config.js';
export * from './principal.js';
export * from './verifier.js';
export * from './middleware.js';
export * from './sign.js';
export * from './dev-key.js';
export * from './origin.js';
