// Public surface of the gateway app, for tests and embedding (main.ts is the CLI).
export { Gateway } from './gateway.js';
export type { GatewayCounters, GatewayOptions } from './gateway.js';
export { loadConfig, configPathFrom, ConfigError, configSchema, renderConfigReference, spliceReference } from './config/index.js';
export type { GatewayConfig, TrunkConfig, ListenerConfig, RouteConfig } from './config/index.js';
export { createLogger } from './logging.js';
export type { Logger } from './logging.js';
