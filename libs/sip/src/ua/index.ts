// Public surface of the application API.
export { UserAgent } from './user-agent.js';
export type { UserAgentOptions, RequestOptions, RequestHandler, RequestRefusal, UaCounters } from './user-agent.js';
export { ClientRequest } from './client-request.js';
export { IncomingRequest } from './incoming-request.js';
export type { ReplyOptions } from './incoming-request.js';
export type { MessageOptions, SendOptions, HeaderValues } from './core.js';
export { destinationOfUri } from './resolve.js';
export { statelessTag } from './screen.js';
export type { RequestScreen, ScreenVerdict } from './screen.js';
