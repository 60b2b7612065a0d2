// Public surface of @trapezoid/sip. Nothing outside this lib imports its files directly.
export * from './message/index.js';
export * from './auth/index.js';
export * from './parser/index.js';
export * from './transport/index.js';
export * from './transaction/index.js';
export * from './dialog/index.js';
export * from './ua/index.js';
export * from './dns/index.js';
