// Public surface of @trapezoid/sip. Nothing outside this lib imports its files directly.
export * from './message/index.js';
