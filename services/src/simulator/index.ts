// The meter simulator: a pure model (createSimulator, topologyFromRate) and its real-time schedule.
export * from './topology';
export * from './profiles';
export * from './simulator';
export { hash32, Mulberry32, unit } from './prng';
export * from './outages';
