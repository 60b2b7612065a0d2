// Public surface of the transaction layer (RFC 3261 §17, RFC 6026).
export { TransactionLayer } from './layer.js';
export type { TransactionUser, TransactionCounters } from './layer.js';
export type { ClientTransaction, ClientTransactionUser, ClientTransactionState } from './client.js';
export type { ServerTransaction, ServerTransactionOwner, ServerTransactionState } from './server.js';
export { InviteClientTransaction } from './invite-client.js';
export { NonInviteClientTransaction } from './non-invite-client.js';
export { InviteServerTransaction, TRYING_DELAY_MS } from './invite-server.js';
export { NonInviteServerTransaction } from './non-invite-server.js';
export { createResponse, synthesizeResponse, isLocalResponse } from './response.js';
export { serverKey, clientKey, mergeKey, MAGIC_COOKIE } from './matching.js';
export { DEFAULT_TIMERS, timerSettings } from './timers.js';
export type { TimerSettings } from './timers.js';
export type { SipTransport } from './sip-transport.js';
export { isReliable } from './sip-transport.js';
