// kcat (librdkafka) against Brook through kcat's command line. See compat-tests/README.md.
//   node runner.mjs scenarios <bootstrap>
//   node runner.mjs produce <bootstrap> <topic> <codec>
//   node runner.mjs consume <bootstrap> <topic> <count>
//   node runner.mjs security <spec.json>   (SSL and SASL listeners: security.mjs, ../security.ts)
// Every kcat call runs under `timeout`. kcat has no admin API: topics with more than one partition
// are created with a raw CreateTopics from Brook's own client (dist/, built by `npm run compat`);
// that is set-up, not under test.

import { spawn, spawnSync } from 'node:child_process';

const [mode, bootstrap, ...rest] = process.argv.slice(2);
if (!mode || !bootstrap) {
  process.stderr.write('usage: runner.mjs scenarios <bootstrap> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>\n');
  process.exit(2);
}

const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
/** librdkafka settings used by the group scenarios to rebalance quickly (test speed-up only). */
const GROUP_SPEEDUPS = ['-X', 'heartbeat.interval.ms=300'];

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** Runs kcat under `timeout`; returns { code, stdout, stderr }. */
function kcat(args, { input, seconds = 20 } = {}) {
  const r = spawnSync('timeout', ['-k', '3', String(seconds), 'kcat', '-b', bootstrap, ...args], {
    input: input ?? '',
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '') };
}

const tail = (text, n = 4) => text.trim().split('\n').slice(-n).join(' | ');

function jsonLines(text) {
  const rows = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // partial line
    }
  }
  return rows;
}

/** Produces lines from stdin; fails loudly on a non-zero exit. Extra args go before -t. */
function produce(topic, lines, args = [], seconds = 20) {
  const r = kcat(['-P', '-t', topic, ...args], { input: lines.join('\n') + '\n', seconds });
  if (r.code !== 0) throw new Error(`kcat -P ${args.join(' ')} exited ${r.code}: ${tail(r.stderr)}`);
  return r;
}

/** Consumes with -J until the end (-e); returns the parsed envelopes. */
function consume(topic, args = ['-o', 'beginning'], seconds = 20) {
  const r = kcat(['-C', '-t', topic, '-e', '-J', ...args], { seconds });
  if (r.code !== 0) throw new Error(`kcat -C ${args.join(' ')} exited ${r.code}: ${tail(r.stderr)}`);
  return jsonLines(r.stdout);
}

/** `-d msg` lines "Produce MessageSet with N message(s) (... , <codec>)" -> codecs used. */
function producedCodecs(stderr) {
  const codecs = [];
  for (const m of stderr.matchAll(/Produce MessageSet with (\d+) message\(s\) \([^)]*, ([a-z0-9]+)\)/g)) codecs.push(m[2]);
  return codecs;
}
function deliveryErrors(stderr) {
  return [...stderr.matchAll(/encountered error: ([^\n]*)/g)].map((m) => m[1]);
}

function metadata(topic) {
  const r = kcat(['-L', '-J', ...(topic ? ['-t', topic] : [])]);
  if (r.code !== 0) throw new Error(`kcat -L exited ${r.code}: ${tail(r.stderr)}`);
  return JSON.parse(r.stdout.trim().split('\n').find((l) => l.startsWith('{')));
}

// ---------------------------------------------------------------------------------------------
// Topic set-up through Brook's own raw client (kcat cannot create topics).

let rawMods;
async function createTopic(topic, numPartitions, configs = []) {
  rawMods ??= await Promise.all([import('../../dist/src/client/raw-client.js'), import('../../dist/protocol/generated/19-create-topics.js')]);
  const [{ RawClient, clientApi }, G] = rawMods;
  const CreateTopics = clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse);
  const i = bootstrap.lastIndexOf(':');
  const c = await RawClient.connect(bootstrap.slice(0, i), Number(bootstrap.slice(i + 1)), 'brook-compat-kcat-setup');
  try {
    const r = await c.request(CreateTopics, 7, { topics: [{ name: topic, numPartitions, replicationFactor: 1, assignments: [], configs }], timeoutMs: 5000, validateOnly: false });
    const t = r.topics[0];
    if (t.errorCode !== 0) throw new Error(`set-up CreateTopics ${topic}: error ${t.errorCode} ${t.errorMessage ?? ''}`);
  } finally {
    c.close();
  }
  return topic;
}

// ---------------------------------------------------------------------------------------------
// Background group consumers (kcat -G), tracked and stopped however a scenario ends.

const background = [];
function groupConsumer(groupId, topic, extra = []) {
  const child = spawn('timeout', ['-k', '3', '60', 'kcat', '-b', bootstrap, '-G', groupId, '-J', '-u', '-X', 'auto.offset.reset=earliest', ...GROUP_SPEEDUPS, ...extra, topic], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const gc = { child, messages: [], assigned: [], stderr: '', exited: null };
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    gc.messages.push(...jsonLines(lines.join('\n')));
  });
  let ebuf = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    gc.stderr += d;
    ebuf += d;
    const lines = ebuf.split('\n');
    ebuf = lines.pop();
    // "% Group g rebalanced (memberid m): assigned: t [0], t [2]" / "revoked: ..."
    for (const line of lines) {
      const m = line.match(/rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)$/);
      if (!m) continue;
      const parts = [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
      gc.assigned = m[1] === 'assigned' ? parts : gc.assigned.filter((p) => !parts.includes(p));
    }
  });
  gc.done = new Promise((r) => child.on('exit', (code, signal) => r((gc.exited = { code, signal }))));
  background.push(gc);
  return gc;
}
async function stop(gc) {
  if (gc.exited) return gc.exited;
  gc.child.kill('SIGTERM'); // timeout forwards it to kcat, which leaves the group and exits
  const t = setTimeout(() => gc.child.kill('SIGKILL'), 8000);
  await gc.done;
  clearTimeout(t);
  return gc.exited;
}
async function stopAll() {
  await Promise.all(background.splice(0).map(stop));
}
async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (cond()) return;
    await sleep(50);
  }
  throw new Error(`timeout after ${ms} ms: ${what}`);
}

const values = (n, prefix) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/**
 * 8 keyed lines of exactly 128 bytes: kcat reads stdin with fread() in 1024-byte blocks
 * (input.c, inbuf_read_to_delimeter), so these are produced at once while stdin stays open.
 */
const padded = (tag) => Array.from({ length: 8 }, (_, i) => `k${i}:${tag}-${i}-`.padEnd(127, 'x'));

/**
 * A transactional kcat -P whose transaction stays open (stdin open) until the caller ends it.
 * kcat runs without the `timeout` wrapper (killed here after 30 s instead) so that a SIGTERM
 * reaches it before an EOF on stdin does.
 */
function openTransaction(topic, args, lines) {
  const child = spawn('kcat', ['-b', bootstrap, '-P', '-t', topic, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  // 'close', not 'exit': by then stderr has been read to its end.
  const exited = new Promise((r) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      r({ code, signal });
    }),
  );
  child.stdin.write(lines.map((l) => `${l}\n`).join(''));
  return { child, exited, stderr: () => stderr };
}

const skip = (detail) => ({ status: 'skip', detail });

// ---------------------------------------------------------------------------------------------
// Scenarios: each returns a detail string (pass) or { status, detail }, or throws (fail).

const SCENARIOS = {
  async 'bootstrap-metadata'() {
    const md = metadata();
    assert(md.brokers?.length === 1, `brokers ${JSON.stringify(md.brokers)}`);
    const b = md.brokers[0];
    assert(b.id === 1 && b.name === bootstrap, `broker ${JSON.stringify(b)} (bootstrap ${bootstrap})`);
    assert(md.controllerid === 1 || md.controllerid === undefined, `controller ${md.controllerid}`);
    return `broker ${b.id} at ${b.name}, controller ${md.controllerid}, ${md.topics.length} topics`;
  },

  async 'admin-create-topic'() {
    return skip('kcat has no admin API (no CreateTopics); see auto-create-topic');
  },

  async 'auto-create-topic'() {
    const topic = `auto-${RUN_ID}`;
    produce(topic, ['first']);
    const md = metadata(topic);
    const t = md.topics.find((x) => x.topic === topic);
    assert(t && !t.error && t.partitions.length === 1, `metadata ${JSON.stringify(t)}`);
    const got = consume(topic);
    assert(got.length === 1 && got[0].payload === 'first', `read ${JSON.stringify(got)}`);
    return `produce to a missing topic created it (1 partition, num.partitions default) and the message landed`;
  },

  async 'produce-unkeyed'() {
    const topic = await createTopic(`unkeyed-${RUN_ID}`, 3);
    produce(topic, values(30, 'u'));
    const got = consume(topic);
    assert(got.length === 30 && new Set(got.map((m) => m.payload)).size === 30, `read ${got.length}`);
    assert(got.every((m) => m.key === null), 'unkeyed message came back with a key');
    const parts = new Set(got.map((m) => m.partition));
    return `30 messages on partitions {${[...parts].sort().join(',')}}, keys null`;
  },

  async 'produce-keyed'() {
    const topic = await createTopic(`keyed-${RUN_ID}`, 3);
    produce(topic, Array.from({ length: 40 }, (_, i) => `key-${i % 8}:v${i}`), ['-K', ':']);
    const got = consume(topic);
    assert(got.length === 40, `read ${got.length}`);
    const partOfKey = new Map();
    for (const m of got) {
      const prev = partOfKey.get(m.key);
      assert(prev === undefined || prev === m.partition, `key ${m.key} on partitions ${prev} and ${m.partition}`);
      partOfKey.set(m.key, m.partition);
    }
    for (const k of partOfKey.keys()) {
      const vs = got.filter((m) => m.key === k).map((m) => Number(m.payload.slice(1)));
      assert(vs.every((v, i) => i === 0 || v > vs[i - 1]), `key ${k} out of order: ${vs}`);
    }
    return `40 messages, 8 keys each on one partition (partitions {${[...new Set(partOfKey.values())].sort().join(',')}}), per-key order kept`;
  },

  ...Object.fromEntries(
    [
      ['produce-acks-0', '0'],
      ['produce-acks-1', '1'],
      ['produce-acks-all', 'all'],
    ].map(([name, acks]) => [
      name,
      async () => {
        const topic = await createTopic(`acks-${acks}-${RUN_ID}`, 1);
        const r = produce(topic, values(10, 'a'), ['-X', `request.required.acks=${acks === 'all' ? -1 : acks}`, '-d', 'msg']);
        const errors = deliveryErrors(r.stderr);
        assert(errors.length === 0, `delivery errors: ${errors.join('; ')}`);
        const got = consume(topic);
        assert(got.map((m) => m.payload).join() === values(10, 'a').join(), `read ${got.map((m) => m.payload)}`);
        return `request.required.acks=${acks === 'all' ? -1 : acks}: 10 messages delivered and read back in order`;
      },
    ]),
  ),

  ...Object.fromEntries(
    ['gzip', 'snappy', 'lz4', 'zstd'].map((codec) => [
      `compression-${codec}`,
      async () => {
        const topic = await createTopic(`z-${codec}-${RUN_ID}`, 1);
        // Repetitive values: librdkafka sends a batch uncompressed when compression does not shrink it.
        const vals = values(50, `${codec}-value-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-`);
        const r = kcat(['-P', '-t', topic, '-z', codec, '-d', 'msg'], { input: vals.join('\n') + '\n' });
        const errors = deliveryErrors(r.stderr);
        const codecs = producedCodecs(r.stderr);
        assert(r.code === 0 && errors.length === 0, `kcat -P -z ${codec} exited ${r.code}; client sent ${codecs.join(',') || 'nothing'}; delivery errors: ${errors.join('; ') || tail(r.stderr)}`);
        assert(codecs.length > 0 && codecs.every((c) => c === codec), `client sent batches as ${codecs.join(',')} (want ${codec})`);
        const got = consume(topic);
        assert(got.map((m) => m.payload).join() === vals.join(), `read ${got.length} of 50`);
        return `${codecs.length} ${codec} batch(es) (client debug: Produce MessageSet ... ${codec}); 50 messages read back in order`;
      },
    ]),
  ),

  async headers() {
    const topic = await createTopic(`headers-${RUN_ID}`, 1);
    produce(topic, ['k1:with-headers'], ['-K', ':', '-H', 'trace-id=abc123', '-H', 'empty=', '-H', 'multi=x', '-H', 'multi=y']);
    produce(topic, ['k2:no-headers'], ['-K', ':']);
    const [m1, m2] = consume(topic);
    assert(JSON.stringify(m1?.headers) === JSON.stringify(['trace-id', 'abc123', 'empty', '', 'multi', 'x', 'multi', 'y']), `headers ${JSON.stringify(m1?.headers)}`);
    assert(m2 && (m2.headers === undefined || m2.headers.length === 0), `second message headers ${JSON.stringify(m2?.headers)}`);
    const f = kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-c', '1', '-f', '%h\\n']);
    assert(f.stdout.trim() === 'trace-id=abc123,empty=,multi=x,multi=y', `-f %h: ${f.stdout.trim()}`);
    return `ordered, empty and repeated headers round-trip (-J and -f %h)`;
  },

  async 'consume-from-beginning'() {
    const topic = await createTopic(`begin-${RUN_ID}`, 3);
    produce(topic, Array.from({ length: 30 }, (_, i) => `k${i}:b${i}`), ['-K', ':']);
    const got = consume(topic);
    assert(got.length === 30, `read ${got.length}`);
    const byPart = new Map();
    for (const m of got) byPart.set(m.partition, [...(byPart.get(m.partition) ?? []), m.offset]);
    for (const [p, offs] of byPart) assert(offs.every((o, i) => o === i), `partition ${p} offsets ${offs}`);
    return `30 messages from offset 0 on ${byPart.size} partitions, offsets contiguous`;
  },

  async 'consume-from-offset'() {
    const topic = await createTopic(`offset-${RUN_ID}`, 1);
    produce(topic, values(20, 'o'));
    const got = consume(topic, ['-p', '0', '-o', '12']);
    assert(got.map((m) => m.offset).join() === '12,13,14,15,16,17,18,19', `offsets ${got.map((m) => m.offset)}`);
    assert(got[0].payload === 'o12', `payload ${got[0].payload}`);
    return `-o 12 read offsets 12..19`;
  },

  async 'consume-offset-out-of-range'() {
    const topic = await createTopic(`oor-${RUN_ID}`, 1);
    produce(topic, values(5, 'x'));
    // Offset past the end: the broker answers OFFSET_OUT_OF_RANGE, librdkafka resets per
    // auto.offset.reset (here earliest) and reads from 0.
    const r = kcat(['-C', '-t', topic, '-p', '0', '-o', '25', '-e', '-J', '-X', 'auto.offset.reset=earliest'], { seconds: 8 });
    const got = jsonLines(r.stdout);
    const parse = r.stderr.match(/Protocol parse failure for Fetch[^\n]*\n[^\n]*invalid MessageSetSize -1/);
    assert(!parse, `broker answered OFFSET_OUT_OF_RANGE with null records (size -1), which librdkafka cannot parse: ${parse?.[0].replace(/\n/, ' | ')}`);
    assert(r.code === 0 && got.map((m) => m.offset).join() === '0,1,2,3,4', `-o 25: exit ${r.code}, offsets ${got.map((m) => m.offset)}, ${tail(r.stderr)}`);
    return `-o 25 on a 5-message partition: OFFSET_OUT_OF_RANGE, reset to earliest, read 0..4`;
  },

  async 'consume-relative-offset'() {
    const topic = await createTopic(`rel-${RUN_ID}`, 1);
    produce(topic, values(20, 'r'));
    const got = consume(topic, ['-p', '0', '-o', '-5']);
    assert(got.map((m) => m.offset).join() === '15,16,17,18,19', `offsets ${got.map((m) => m.offset)}`);
    return `-o -5 read the last 5 (offsets 15..19)`;
  },

  async 'consume-from-timestamp'() {
    const topic = await createTopic(`ts-${RUN_ID}`, 1);
    produce(topic, values(5, 'early'));
    await sleep(30);
    const t = Date.now();
    await sleep(30);
    produce(topic, values(5, 'late'));
    const got = consume(topic, ['-p', '0', '-o', `s@${t}`]);
    assert(got.length === 5 && got[0].offset === 5 && got.every((m) => m.payload.startsWith('late') && m.ts >= t), `-o s@${t}: ${JSON.stringify(got.map((m) => [m.offset, m.ts]))}`);
    const q = kcat(['-Q', '-J', '-t', `${topic}:0:${t}`]);
    const qj = jsonLines(q.stdout)[0];
    assert(q.code === 0 && qj?.[topic]?.['0']?.offset === 5, `-Q: exit ${q.code}, ${q.stdout.trim()} ${tail(q.stderr)}`);
    const stopAt = consume(topic, ['-p', '0', '-o', 'beginning', '-o', `e@${t}`]);
    assert(stopAt.map((m) => m.offset).join() === '0,1,2,3,4', `-o e@${t}: offsets ${stopAt.map((m) => m.offset)}`);
    return `-o s@T read offsets 5..9; -Q gives offset 5; -o e@T stops before 5`;
  },

  async 'group-two-consumers'() {
    const topic = await createTopic(`group2-${RUN_ID}`, 4);
    const groupId = `g2-${RUN_ID}`;
    const c1 = groupConsumer(groupId, topic);
    await until(() => c1.assigned.length === 4, 20_000, `c1 assigned all 4 partitions (has ${c1.assigned}; stderr: ${tail(c1.stderr)})`);
    const c2 = groupConsumer(groupId, topic);
    await until(
      () => c1.assigned.length > 0 && c2.assigned.length > 0 && c1.assigned.length + c2.assigned.length === 4 && !c1.assigned.some((p) => c2.assigned.includes(p)),
      20_000,
      `split assignment (c1 ${c1.assigned}, c2 ${c2.assigned}; c2 stderr: ${tail(c2.stderr)})`,
    );
    const a1 = [...c1.assigned];
    const a2 = [...c2.assigned];
    produce(topic, Array.from({ length: 40 }, (_, i) => `key${i}:g${i}`), ['-K', ':']);
    await until(() => c1.messages.length + c2.messages.length >= 40, 20_000, `40 messages (c1 ${c1.messages.length}, c2 ${c2.messages.length})`);
    await sleep(300);
    await stopAll();
    const all = [...c1.messages, ...c2.messages].map((m) => m.payload);
    assert(all.length === 40 && new Set(all).size === 40, `${all.length} deliveries, ${new Set(all).size} distinct`);
    assert(c1.messages.every((m) => a1.includes(m.partition)) && c2.messages.every((m) => a2.includes(m.partition)), 'message from an unassigned partition');
    return `c1 [${a1}] (${c1.messages.length} msgs), c2 [${a2}] (${c2.messages.length} msgs); 40 delivered once`;
  },

  async 'group-resume-committed'() {
    const topic = await createTopic(`resume-${RUN_ID}`, 2);
    const groupId = `resume-${RUN_ID}`;
    produce(topic, Array.from({ length: 10 }, (_, i) => `k${i}:first${i}`), ['-K', ':']);
    const g = (n) => kcat(['-G', groupId, '-J', '-c', String(n), '-X', 'auto.offset.reset=earliest', ...GROUP_SPEEDUPS, topic], { seconds: 30 });
    const r1 = g(10);
    const first = jsonLines(r1.stdout);
    assert(r1.code === 0 && first.length === 10, `first member: exit ${r1.code}, ${first.length} messages, ${tail(r1.stderr)}`);
    produce(topic, Array.from({ length: 10 }, (_, i) => `k${i}:second${i}`), ['-K', ':']);
    const r2 = g(10);
    const second = jsonLines(r2.stdout);
    assert(r2.code === 0 && second.length === 10, `second member: exit ${r2.code}, ${second.length} messages, ${tail(r2.stderr)}`);
    assert(second.every((m) => m.payload.startsWith('second')), `re-read: ${second.map((m) => m.payload)}`);
    return `-G -c 10 committed on close; the next member resumed with the 10 new messages only`;
  },

  async 'admin-list-topics'() {
    const topic = await createTopic(`list-${RUN_ID}`, 2);
    const md = metadata();
    assert(md.topics.some((t) => t.topic === topic), `${topic} not listed`);
    return `kcat -L lists ${md.topics.length} topics (Metadata, all topics), new topic among them`;
  },

  async 'admin-describe-topics'() {
    const topic = await createTopic(`describe-${RUN_ID}`, 2);
    const md = metadata(topic);
    const t = md.topics.find((x) => x.topic === topic);
    const parts = (t?.partitions ?? []).sort((a, b) => a.partition - b.partition);
    assert(
      parts.length === 2 &&
        parts.every((p, i) => p.partition === i && p.leader === 1 && JSON.stringify(p.replicas) === '[{"id":1}]' && JSON.stringify(p.isrs) === '[{"id":1}]'),
      JSON.stringify(t),
    );
    return `kcat -L -t: 2 partitions, leader 1, replicas [1], isrs [1]`;
  },

  async 'admin-delete-topic'() {
    return skip('kcat has no admin API (no DeleteTopics)');
  },
  async 'admin-list-groups'() {
    return skip('kcat has no group listing (no ListGroups)');
  },
  async 'admin-describe-groups'() {
    return skip('kcat has no group description (no DescribeGroups)');
  },
  async 'admin-delete-group'() {
    return skip('kcat has no admin API (no DeleteGroups)');
  },

  async 'produce-idempotent'() {
    const topic = await createTopic(`idem-${RUN_ID}`, 3);
    // Small batches, up to 5 in flight per partition: the broker tracks each batch's sequence.
    const args = ['-K', ':', '-X', 'enable.idempotence=true', '-X', 'batch.num.messages=10', '-X', 'linger.ms=2', '-d', 'eos,msg'];
    const lines = Array.from({ length: 200 }, (_, i) => `key${i % 7}:idem-${i}`);
    const pids = [];
    for (const half of [lines.slice(0, 120), lines.slice(120)]) {
      const r = produce(topic, half, args); // a second kcat: a new producer id
      const errors = deliveryErrors(r.stderr);
      assert(errors.length === 0, `delivery errors: ${errors.join('; ')}`);
      const pid = r.stderr.match(/Acquired PID\{Id:(\d+),Epoch:(\d+)\}/);
      assert(pid, `no "Acquired PID" in librdkafka's eos debug output: ${tail(r.stderr)}`);
      pids.push(pid[1]);
    }
    const got = consume(topic, ['-o', 'beginning', '-X', 'isolation.level=read_uncommitted']);
    const vals = got.map((m) => m.payload);
    const dup = vals.filter((v, i) => vals.indexOf(v) !== i);
    const want = lines.map((l) => l.split(':')[1]);
    assert(dup.length === 0 && vals.length === want.length && want.every((v) => vals.includes(v)), `read ${vals.length} of ${want.length}, duplicates ${dup.slice(0, 5)}`);
    const byPart = new Map();
    for (const m of got) byPart.set(m.partition, [...(byPart.get(m.partition) ?? []), m.offset]);
    for (const [p, offs] of byPart) assert(offs.every((o, i) => o === i), `partition ${p}: offsets not contiguous from 0: ${offs.slice(0, 20)}`);
    for (const k of new Set(got.map((m) => m.key))) {
      const seq = got.filter((m) => m.key === k).map((m) => Number(m.payload.split('-')[1]));
      assert(seq.every((v, i) => i === 0 || v > seq[i - 1]), `key ${k} out of order: ${seq}`);
    }
    return `-X enable.idempotence=true (producer ids ${pids.join(', ')}), 200 keyed messages in batches of up to 10: each read exactly once, offsets contiguous per partition ${JSON.stringify([...byPart].map(([p, o]) => [p, o.length]).sort())}, per-key order kept`;
  },

  async transactions() {
    const topic = await createTopic(`txn-${RUN_ID}`, 3);
    const txn = ['-K', ':', '-X', `transactional.id=kcat-txn-${RUN_ID}`];
    const batch = (tag, n) => Array.from({ length: n }, (_, i) => `k${i}:${tag}-${i}`);
    const readValues = (isolation) => consume(topic, ['-o', 'beginning', '-X', `isolation.level=${isolation}`]).map((m) => m.payload).sort();
    const sorted = (...bs) => bs.flat().map((l) => l.split(':')[1]).sort();

    // 1. stdin closed: kcat commits the transaction.
    const r1 = produce(topic, batch('committed1', 6), txn, 30);
    assert(/Transaction successfully committed/.test(r1.stderr), `no commit message: ${tail(r1.stderr)}`);

    // 2. SIGTERM while the transaction is open: kcat aborts it.
    const aborted = padded('aborted');
    const open = openTransaction(topic, txn, aborted);
    try {
      await until(() => JSON.stringify(readValues('read_uncommitted')) === JSON.stringify(sorted(batch('committed1', 6), aborted)), 15_000, "the open transaction's 8 messages in the log");
      // The open transaction holds back the last stable offset.
      const rcOpen = readValues('read_committed');
      assert(JSON.stringify(rcOpen) === JSON.stringify(sorted(batch('committed1', 6))), `read_committed during the open transaction: ${rcOpen}`);
    } finally {
      open.child.kill('SIGTERM'); // kcat's handler sets its stop flag and term_sig
      open.child.stdin.end(); // kcat's fread() restarts after the signal; EOF ends its input loop
    }
    const ex = await open.exited;
    assert(/Aborting transaction due to termination signal/.test(open.stderr()) && ex.code === 0, `SIGTERM: exit ${JSON.stringify(ex)}: ${tail(open.stderr())}`);

    // 3. another committed transaction after the aborted one.
    produce(topic, batch('committed2', 3), txn, 30);
    const rc = readValues('read_committed');
    const ru = readValues('read_uncommitted');
    assert(JSON.stringify(rc) === JSON.stringify(sorted(batch('committed1', 6), batch('committed2', 3))), `read_committed: ${rc}`);
    assert(JSON.stringify(ru) === JSON.stringify(sorted(batch('committed1', 6), aborted, batch('committed2', 3))), `read_uncommitted: ${ru.length} messages`);
    return `-X transactional.id: commit on EOF (6), abort on SIGTERM (8, kcat: "Aborting transaction due to termination signal"), commit (3); read_committed (librdkafka's default) got only the 9 committed, and only the first 6 while the abort was open; read_uncommitted got all 17`;
  },

  async 'transactions-fencing'() {
    const topic = await createTopic(`fence-${RUN_ID}`, 1);
    const txn = ['-K', ':', '-X', `transactional.id=kcat-fence-${RUN_ID}`];
    const readValues = (isolation) => consume(topic, ['-o', 'beginning', '-X', `isolation.level=${isolation}`]).map((m) => m.payload).sort();
    const first = padded('first');
    const a = openTransaction(topic, txn, first);
    let ex;
    try {
      const want = first.map((l) => l.split(':')[1]).sort();
      await until(() => JSON.stringify(readValues('read_uncommitted')) === JSON.stringify(want), 15_000, "the first kcat's 8 messages in the log");
      // A second kcat with the same transactional.id: init_transactions bumps the epoch and aborts
      // the first one's open transaction; then it commits its own.
      const b = produce(topic, ['k:second'], txn, 30);
      assert(/Transaction successfully committed/.test(b.stderr), `second kcat: ${tail(b.stderr)}`);
    } finally {
      a.child.stdin.end(); // EOF: the first kcat tries to commit
      ex = await a.exited;
    }
    const err = a.stderr().match(/commit_transaction\(\): [^\n]*/);
    assert(ex.code !== 0 && err && /fenced|epoch/i.test(err[0]), `first kcat after the fence: exit ${JSON.stringify(ex)}: ${tail(a.stderr())}`);
    const rc = readValues('read_committed');
    const ru = readValues('read_uncommitted');
    assert(JSON.stringify(rc) === '["second"]' && ru.length === 9, `read_committed ${JSON.stringify(rc)}, read_uncommitted ${ru.length} messages`);
    return `a second kcat with the same transactional.id fenced the first (open transaction, 8 messages): its commit on EOF failed, exit ${ex.code}, "${err[0].slice(0, 160)}"; read_committed has only the second kcat's message, read_uncommitted also the 8 aborted`;
  },
};

async function runScenarios() {
  const only = process.env.KCAT_SCENARIOS ? process.env.KCAT_SCENARIOS.split(',') : null;
  for (const [scenario, fn] of Object.entries(SCENARIOS)) {
    if (only && !only.includes(scenario)) continue;
    const t0 = Date.now();
    let row;
    try {
      const r = await fn();
      row = typeof r === 'object' ? { scenario, ...r } : { scenario, status: 'pass', detail: r };
    } catch (e) {
      row = { scenario, status: 'fail', detail: String(e?.message ?? e) };
    } finally {
      await stopAll();
    }
    row.detail = `${row.detail} (${Date.now() - t0} ms)`;
    out(row);
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-client halves.

function produceSet(topic, codec) {
  const lines = Array.from({ length: 20 }, (_, i) => `k${i}:v${i}-${codec}`);
  const r = kcat(['-P', '-t', topic, '-K', ':', '-z', codec, '-d', 'msg'], { input: lines.join('\n') + '\n', seconds: 30 });
  const errors = deliveryErrors(r.stderr);
  if (r.code !== 0 || errors.length) return out({ ok: false, error: `kcat exited ${r.code}: ${errors.join('; ') || tail(r.stderr)}` });
  // librdkafka sends a batch uncompressed when the codec would not shrink it: say which it used.
  out({ ok: true, codecs: producedCodecs(r.stderr) });
}

function consumeSet(topic, count) {
  const r = kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-c', String(count)], { seconds: 60 });
  const rows = jsonLines(r.stdout);
  if (r.code !== 0) return out({ ok: false, error: `kcat exited ${r.code} after ${rows.length} messages: ${tail(r.stderr)}` });
  out({ ok: true, messages: rows.map((m) => ({ key: m.key, value: m.payload })) });
}

try {
  if (mode === 'scenarios') await runScenarios();
  else if (mode === 'security') (await import('./security.mjs')).securityScenarios(bootstrap);
  else if (mode === 'produce') produceSet(rest[0], rest[1]);
  else if (mode === 'consume') consumeSet(rest[0], Number(rest[1]));
  else throw new Error(`unknown mode ${mode}`);
} finally {
  await stopAll();
}
