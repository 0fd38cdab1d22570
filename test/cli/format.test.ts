// The CLI's pure pieces: record formats and templates, input splitting and parsing, tables, JSON,
// the progress line (terminal only) and the option parsers.

import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../src/client/index.js';
import { durationArg, partitionList, timestampArg } from '../../src/cli/common.js';
import { Splitter, compileTemplate, parseRecord, recordFormatter, type InputOptions } from '../../src/cli/format.js';
import { Progress, printTable, toJson } from '../../src/cli/output.js';

const record: ConsumedRecord = {
  topic: 'orders',
  partition: 2,
  offset: 41n,
  timestamp: 1714557600000n,
  timestampType: 'CreateTime',
  key: Buffer.from('k1'),
  value: Buffer.from('hello'),
  headers: [
    { key: 'a', value: Buffer.from('1') },
    { key: 'b', value: null },
  ],
  leaderEpoch: 0,
};

function sink(isTTY: boolean): { isTTY: boolean; text: string; write(s: string): void } {
  return {
    isTTY,
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

describe('record output', () => {
  it('text prints the value, json one object per line', () => {
    expect(recordFormatter('text', 'utf8')(record)).toBe('hello\n');
    expect(JSON.parse(recordFormatter('json', 'utf8')(record))).toEqual({
      topic: 'orders',
      partition: 2,
      offset: 41,
      timestamp: 1714557600000,
      timestampType: 'CreateTime',
      key: 'k1',
      value: 'hello',
      headers: [
        { key: 'a', value: '1' },
        { key: 'b', value: null },
      ],
    });
    expect(recordFormatter('text', 'utf8')({ ...record, value: null })).toBe('\n');
  });

  it('templates fill every placeholder and understand \\t and \\n', () => {
    const f = compileTemplate('{topic}/{partition}@{offset} {timestamp} {time} {timestampType}\\t{key}={value} [{headers}] {header.a}{header.zz}\\n', 'utf8');
    expect(f(record)).toBe('orders/2@41 1714557600000 2024-05-01T10:00:00.000Z CreateTime\tk1=hello [a=1,b=] 1\n');
    expect(compileTemplate('{key}:{value}', 'hex')(record)).toBe('6b31:68656c6c6f');
    expect(() => compileTemplate('{vale}', 'utf8')).toThrow(/unknown placeholder \{vale\}/);
    expect(() => recordFormatter('yaml', 'utf8')).toThrow(/text, json or a template/);
  });
});

describe('input', () => {
  it('the splitter finds delimiters across chunk boundaries and keeps a last unterminated record', () => {
    const s = new Splitter(Buffer.from('||'));
    const out = [...s.push(Buffer.from('a|')), ...s.push(Buffer.from('|bb||c')), ...s.push(Buffer.from('c|')), ...s.end()];
    expect(out.map((b) => b.toString())).toEqual(['a', 'bb', 'cc|']);
    expect(new Splitter(Buffer.from('\n')).end()).toEqual([]);
  });

  const base: InputOptions = { format: 'text', encoding: 'utf8', headers: [], stripCr: true };

  it('text lines: a key separator, a fixed key, CRLF endings', () => {
    expect(parseRecord(Buffer.from('user:{"a":1}\r'), { ...base, keySeparator: Buffer.from(':') }, 'line 1')).toMatchObject({ key: Buffer.from('user'), value: Buffer.from('{"a":1}') });
    expect(parseRecord(Buffer.from('v'), { ...base, key: Buffer.from('k'), partition: 3 }, 'line 1')).toMatchObject({ key: Buffer.from('k'), value: Buffer.from('v'), partition: 3 });
    expect(() => parseRecord(Buffer.from('novalue'), { ...base, keySeparator: Buffer.from('=') }, 'line 7')).toThrow(/line 7: no key separator/);
  });

  it('JSON lines: null keys, non-string values as JSON text, header objects and arrays, partition, timestamp, base64', () => {
    const json: InputOptions = { ...base, format: 'json' };
    const r = parseRecord(Buffer.from('{"key":null,"value":{"x":[1]},"headers":{"h":"v"},"partition":1,"timestamp":"99"}'), json, 'line 1');
    expect(r).toEqual({ key: null, value: Buffer.from('{"x":[1]}'), headers: [{ key: 'h', value: Buffer.from('v') }], partition: 1, timestamp: 99n });
    const arr = parseRecord(Buffer.from('{"value":"v","headers":[{"key":"h","value":null}]}'), json, 'line 2');
    expect(arr.headers).toEqual([{ key: 'h', value: null }]);
    expect(arr.key).toBeNull();
    const b64 = parseRecord(Buffer.from('{"value":"AAH/"}'), { ...json, encoding: 'base64' }, 'line 3');
    expect(b64.value).toEqual(Buffer.from([0, 1, 255]));
    expect(() => parseRecord(Buffer.from('[1]'), json, 'line 4')).toThrow(/line 4: expected a JSON object/);
    expect(() => parseRecord(Buffer.from('{"value":"zz"}'), { ...json, encoding: 'hex' }, 'line 5')).toThrow(/line 5 value is not hex/);
    expect(() => parseRecord(Buffer.from('{"partition":-1}'), json, 'line 6')).toThrow(/bad partition/);
  });
});

describe('output', () => {
  it('tables align columns without trailing blanks; null cells print as -', () => {
    const out = sink(false);
    printTable(out, ['NAME', 'N', 'NOTE'], [
      ['a', 1, null],
      ['longer', 12345n, 'x'],
    ]);
    expect(out.text).toBe('NAME    N      NOTE\na       1      -\nlonger  12345  x\n');
  });

  it('JSON writes bigints as numbers and buffers as base64', () => {
    expect(toJson({ o: 5n, b: Buffer.from([1, 2]) })).toBe('{"o":5,"b":"AQI="}');
  });

  it('progress is drawn only on a terminal, and cleared at the end', () => {
    const pipe = sink(false);
    const p = Progress.for(pipe);
    p.update('working', true);
    p.done();
    expect(pipe.text).toBe('');
    const tty = sink(true);
    const q = Progress.for(tty);
    q.update('step 1', true);
    q.update('step 2'); // throttled
    q.done();
    expect(tty.text).toBe('\r\x1b[2Kstep 1\r\x1b[2K');
    const off = sink(true);
    Progress.for(off, false).update('x', true);
    expect(off.text).toBe('');
  });
});

describe('option parsers', () => {
  it('durations, times and partition lists', () => {
    expect(durationArg('500ms')).toBe(500);
    expect(durationArg('1.5s')).toBe(1500);
    expect(durationArg('2h')).toBe(7_200_000);
    expect(durationArg('PT1H30M')).toBe(5_400_000);
    expect(durationArg('P1DT1S')).toBe(86_401_000);
    expect(() => durationArg('PT')).toThrow();
    expect(() => durationArg('soon')).toThrow();
    expect(timestampArg('1714557600000')).toBe(1714557600000n);
    expect(timestampArg('2024-05-01T10:00:00Z')).toBe(1714557600000n);
    expect(() => timestampArg('yesterday')).toThrow();
    expect(partitionList('3,0,5-7')).toEqual([0, 3, 5, 6, 7]);
    expect(() => partitionList('1,x')).toThrow();
    expect(() => partitionList('5-2')).toThrow();
  });
});
