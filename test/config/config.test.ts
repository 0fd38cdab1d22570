// Issue 8: the config layer on its own: Kafka's value parsing and printing (ConfigDef), the layered
// broker values and their synonyms (DynamicBrokerConfig, ConfigHelper), topic defaults taken from
// broker synonyms (KafkaConfig.extractLogConfigMap).

import { describe, expect, it } from 'vitest';
import { BrokerConfig, ConfigError, TOPIC_CONFIG_DEFS, validateBrokerUpdate, validateTopicConfigs } from '../../src/config/config.js';
import { javaDoubleToString, metadataVersion, parseValue, printValue } from '../../src/config/validate.js';

describe('Kafka value rules', () => {
  it('prints doubles as Java does', () => {
    expect([0.5, 1, 0, 1e-5, 1e7, 123.25, NaN].map(javaDoubleToString)).toEqual(['0.5', '1.0', '0.0', '1.0E-5', '1.0E7', '123.25', 'NaN']);
  });

  it('parses like ConfigDef.parseType: trims, checks widths, normalises lists and booleans', () => {
    const shown = (type: Parameters<typeof parseValue>[1], raw: string) => {
      const p = parseValue('x', type, raw);
      return p.ok ? printValue(p.value, type) : p.message;
    };
    expect(shown('LONG', ' +42 ')).toBe('42');
    expect(shown('INT', '2147483647')).toBe('2147483647');
    expect(shown('INT', '2147483648')).toBe('Invalid value 2147483648 for configuration x: Not a number of type INT');
    expect(shown('LONG', '1.5')).toBe('Invalid value 1.5 for configuration x: Not a number of type LONG');
    expect(shown('BOOLEAN', 'False')).toBe('false');
    expect(shown('LIST', ' a , b,c ')).toBe('a,b,c');
    expect(shown('LIST', '')).toBe('');
    expect(shown('DOUBLE', '1')).toBe('1.0');
    expect(shown('DOUBLE', '5e-1')).toBe('0.5');
  });

  it('knows Kafka 3.x message format versions', () => {
    for (const ok of ['0.8.2', '0.10.2', '0.10.2-IV0', '0.10.0.1', '2.8', '2.8-IV1', '3.0-IV1', '3.6.1', '3.9']) expect(metadataVersion.check(ok), ok).toBeNull();
    for (const bad of ['0.7', '2.9', '3.0-IV2', 'latest', '']) expect(metadataVersion.check(bad), bad).not.toBeNull();
  });
});

describe('BrokerConfig layers and synonyms', () => {
  it('dynamic per-broker > dynamic cluster default > static > default', () => {
    const c = new BrokerConfig({ 'log.retention.bytes': '100' });
    expect([c.get('log.retention.bytes'), c.source('log.retention.bytes')]).toEqual(['100', 'STATIC_BROKER']);
    c.setDynamic('cluster-default', { 'log.retention.bytes': '200' });
    expect([c.get('log.retention.bytes'), c.source('log.retention.bytes')]).toEqual(['200', 'DYNAMIC_DEFAULT_BROKER']);
    c.setDynamic('broker', { 'log.retention.bytes': '300' });
    expect([c.get('log.retention.bytes'), c.source('log.retention.bytes')]).toEqual(['300', 'DYNAMIC_BROKER']);
    expect(c.logConfig().retentionBytes).toBe(300);
    c.setDynamic('broker', {});
    expect(c.logConfig().retentionBytes).toBe(200);
    expect(c.configSynonyms('log.retention.bytes').map((e) => [e.name, e.value, e.source])).toEqual([
      ['log.retention.bytes', '200', 'DYNAMIC_DEFAULT_BROKER'],
      ['log.retention.bytes', '100', 'STATIC_BROKER'],
      ['log.retention.bytes', '-1', 'DEFAULT'],
    ]);
  });

  it('topic defaults follow the first broker synonym with a value, in the topic unit', () => {
    const c = new BrokerConfig({ 'log.retention.minutes': '2', 'log.roll.hours': '1' });
    expect(c.topicDefault('retention.ms').value).toBe('120000');
    expect(c.topicDefault('segment.ms').value).toBe('3600000');
    c.setDynamic('cluster-default', { 'log.retention.ms': '5000', 'log.roll.ms': '60000' });
    expect(c.topicDefault('retention.ms').value).toBe('5000');
    expect(c.logConfig()).toMatchObject({ retentionMs: 5000, segmentMs: 60000 });
    // Negative retention is "forever" (-1), as KafkaConfig.logRetentionTimeMillis.
    expect(new BrokerConfig({ 'log.retention.hours': '-5' }).topicDefault('retention.ms').value).toBe('-1');
    // message.format.version ignores the broker value (inter-broker protocol >= 3.0).
    expect(new BrokerConfig({ 'log.message.format.version': '2.8' }).topicDefault('message.format.version').value).toBe('3.0-IV1');
    // Every topic config has a default.
    for (const d of TOPIC_CONFIG_DEFS) expect(new BrokerConfig().topicDefault(d.name).value, d.name).not.toBeNull();
  });

  it('static values are validated with Kafka\'s rules at start', () => {
    expect(() => new BrokerConfig({ 'log.segment.bytes': '10' })).toThrow(ConfigError);
    expect(() => new BrokerConfig({ 'log.cleanup.policy': 'forever' })).toThrow(/String must be one of: compact, delete/);
    expect(new BrokerConfig({ 'auto.create.topics.enable': 'FALSE' }).bool('auto.create.topics.enable')).toBe(false);
  });

  it('broker updates: non-dynamic names refused, custom names allowed', () => {
    const c = new BrokerConfig();
    expect(validateBrokerUpdate(c, 'broker', { 'log.roll.hours': '1' })).toEqual({ error: 'INVALID_REQUEST', message: 'Cannot update these configs dynamically: Set(log.roll.hours)' });
    expect(validateBrokerUpdate(c, 'cluster-default', { 'log.roll.ms': '1000', 'custom.thing': 'x' })).toBeNull();
    expect(validateBrokerUpdate(c, 'broker', { 'log.local.retention.bytes': '100', 'log.retention.bytes': '50' })).toEqual({ error: 'INVALID_REQUEST', message: 'Invalid dynamic configuration' });
  });

  it('topic cross-value rule uses the broker defaults underneath', () => {
    const c = new BrokerConfig();
    c.setDynamic('cluster-default', { 'log.cleaner.max.compaction.lag.ms': '100' });
    expect(validateTopicConfigs(c, { 'min.compaction.lag.ms': '200' })).toEqual({
      error: 'INVALID_CONFIG',
      message: 'conflict topic config setting min.compaction.lag.ms (200) > max.compaction.lag.ms (100)',
    });
    expect(validateTopicConfigs(c, { 'min.compaction.lag.ms': '200', 'max.compaction.lag.ms': '300' })).toBeNull();
  });
});
