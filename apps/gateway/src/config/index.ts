export { loadConfig, configPathFrom, ConfigError } from './load.js';
export { configSchema } from './schema.js';
export type { GatewayConfig, TrunkConfig, ListenerConfig, RouteConfig, ClusterConfig } from './schema.js';
export { renderConfigReference, spliceReference, configReferenceRows, REFERENCE_BEGIN, REFERENCE_END } from './reference.js';
export type { ReferenceRow } from './reference.js';
