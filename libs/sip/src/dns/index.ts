// RFC 3263 server location and the DNS stub resolver under it.
export { DnsClient, DnsError } from './client.js';
export type { DnsClientOptions } from './client.js';
export { SipLocator, orderSrv } from './rfc3263.js';
export type { SipTarget, LocatorOptions, LocatableTransport } from './rfc3263.js';
export type { Answer, SrvRecord, NaptrRecord, RecordType } from './message.js';
