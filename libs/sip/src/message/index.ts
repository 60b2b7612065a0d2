export { Headers, canonicalName, displayName, isListHeader, splitList, COMPACT_FORMS } from './headers.js';
export { SipRequest, SipResponse, SipError, reasonPhrase, REASON_PHRASES } from './message.js';
export type { SipMessage, TransportInfo } from './message.js';
export { mediaTypeOf, isMediaType, acceptsMediaType } from './media-type.js';
export { ownString } from './own-string.js';
