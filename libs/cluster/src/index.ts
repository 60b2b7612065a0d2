// Public surface of @trapezoid/cluster: the replicated call state (docs/architecture.md, "State
// and failover"). One CallStore interface with two implementations (in memory, the
// embedded default; Redis), the record writer that never makes a call wait, this
// node's lease with its self-fencing rule, and the takeover of a dead node's calls.
export { CALL_RECORD_VERSION, CallRecordError, decodeCallRecord, encodeCallRecord } from './record.js';
export type { BrowserIdentity, CallRecord, CallRecordV1, LegRecord, PendingInvite, StoredCallState } from './record.js';
export { StoreUnavailableError } from './store.js';
export type { CallStore, Lease, ListedNode, ListenerProtocol, NodeInfo, PutRefusal, PutResult, RenewResult, StoredBinding } from './store.js';
export { MemoryBackend, MemoryStore } from './memory-store.js';
export { RedisStore } from './redis-store.js';
export type { RedisStoreOptions } from './redis-store.js';
export { RecordWriter } from './writer.js';
export type { RecordWriterOptions, WriterStats } from './writer.js';
export { LeaseKeeper } from './lease.js';
export type { LeaseOptions, LeaseState } from './lease.js';
export { DeadNodeWatcher, takeOverNode } from './takeover.js';
export type { DeadNodeWatcherOptions, TakeoverOutcome } from './takeover.js';
// A redis-server process for tests and benchmarks.
export { RedisServerProcess } from './redis-server.js';
export type { RedisServerOptions } from './redis-server.js';
