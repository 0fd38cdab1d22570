// Public entry for embedding Brook (e.g. `await startBroker()` inside a test suite).
export { startBroker, type Broker, type BrokerOptions } from './broker.js';
export { ManualClock, systemClock, type Clock } from './common/clock.js';
