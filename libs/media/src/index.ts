// Public surface of @trapezoid/media.
export { emptyLegStats } from './leg.js';
export type { LegStats, MediaLeg, PacketSink } from './leg.js';
