// Public surface of the dialog layer (RFC 3261 §12).
export { Dialog } from './dialog.js';
export type { DialogTerminationReason } from './dialog.js';
export { dialogId } from './state.js';
export type { DialogState } from './state.js';
export { requestTarget } from './route.js';
export type { RequestTarget } from './route.js';
