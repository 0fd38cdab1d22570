// Public entry for embedding Brook (e.g. `await startBroker()` inside a test suite).
export { startBroker, type Broker, type BrokerListener, type BrokerListenerSasl, type BrokerOptions } from './broker.js';
export { credentialFromPassword, type ScramMechanism, type StoredScramCredential } from './security/scram.js';
export { ManualClock, systemClock, type Clock } from './common/clock.js';
export {
  FaultInjector,
  FaultError,
  type FaultKind,
  type FaultRule,
  type FaultRuleSpec,
  type FaultStatus,
  type RuleScope,
} from './server/faults.js';
export {
  BrokerTopics,
  type GroupDescription,
  type PartitionDescription,
  type ReadRecordsOptions,
  type StoredRecord,
  type TopicDescription,
  type TopicSpec,
  type WaitForGroupOptions,
} from './fixture/helpers.js';
export { ErrorCode } from '../protocol/errors.js';
