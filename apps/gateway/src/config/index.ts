export { loadConfig, configPathFrom, ConfigError } from './load.js';
export { configSchema } from './schema.js';
export type { GatewayConfig, TrunkConfig, ListenerConfig, RouteConfig } from './schema.js';
