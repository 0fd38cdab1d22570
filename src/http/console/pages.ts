// The console's server-rendered pages (issue 12), a route group of Brook's HTTP listener:
//
//   /console                                 cluster overview: brokers, controller, counts, throughput
//   /console/topics                          topics (paged), create form
//   /console/topics/:topic                   partitions (offsets, leader, replicas, ISR, size), configs
//                                            and a form to set or delete a dynamic config
//   /console/topics/:topic/configs           (POST) IncrementalAlterConfigs, then back to the topic
//   /console/topics/:topic/delete            confirmation, then delete (POST)
//   /console/topics/:topic/messages          message browser (partition + offset or timestamp,
//                                            search within the page) and produce form
//   /console/topics/:topic/tail              live tail (Server-Sent Events from
//                                            /api/topics/:topic/tail/stream; polls /tail without them)
//   /console/groups                          groups (paged) with state and total lag
//   /console/groups/:group                   members, assignments, lag per partition, reset offsets
//   /console/groups/:group/delete            confirmation, then DeleteGroups (POST)
//
// Plain HTML forms (POST, then a redirect: the back button and keyboard work as everywhere); two
// small inline scripts (throughput refresh, live tail) that only add to a page that works
// without them. Everything shown is escaped (html.ts). Posts from pages of another origin are
// refused (server.ts checkSameOrigin).

import type { IncomingMessage } from 'node:http';
import { messageQuery, segments } from '../api.js';
import { HttpError, checkSameOrigin, readBody, type HttpAnswer, type RouteGroup } from '../server.js';
import { ConsoleData, pageOf, statusOf, type ShownRecord } from './data.js';
import { Html, fmtBytes, fmtTime, html, layout, pager, seg, shown, type Section } from './html.js';

const page = (title: string, section: Section | null, body: Html, url: URL, status = 200, error: string | null = null): HttpAnswer => ({
  status,
  body: layout(title, section, body, { notice: url.searchParams.get('notice'), error }),
  contentType: 'text/html; charset=utf-8',
  headers: { 'cache-control': 'no-store' },
});

const redirect = (to: string, notice?: string, fragment = ''): HttpAnswer => ({
  status: 303,
  body: '',
  contentType: 'text/plain',
  headers: { location: `${notice ? `${to}${to.includes('?') ? '&' : '?'}notice=${encodeURIComponent(notice)}` : to}${fragment}` },
});

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(req));
}

export function consoleRoutes(source: ConsoleData | ((req: IncomingMessage) => ConsoleData)): RouteGroup {
  return async (req, url) => {
    if (url.pathname === '/' && (req.method ?? 'GET') === 'GET') return redirect('/console');
    if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return undefined;
    try {
      checkSameOrigin(req);
      return await answer(typeof source === 'function' ? source(req) : source, req, url);
    } catch (err) {
      const status = statusOf(err);
      const message = (err as Error)?.message ?? String(err);
      return {
        status,
        body: layout('Error', null, html`<h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1><p><a href="/console">Overview</a> · <a href="/console/topics">Topics</a> · <a href="/console/groups">Consumer groups</a></p>`, { error: message }),
        contentType: 'text/html; charset=utf-8',
      };
    }
  };
}

async function answer(data: ConsoleData, req: IncomingMessage, url: URL): Promise<HttpAnswer | undefined> {
  const method = req.method ?? 'GET';
  const [kind, name, sub, ...more] = segments(url.pathname, '/console');
  if (more.length > 0) return undefined;
  if (kind === undefined && method === 'GET') return overview(data, url);
  if (kind === 'topics') {
    if (name === undefined) {
      if (method === 'GET') return topicsPage(data, url);
      if (method === 'POST') {
        const f = await formBody(req);
        const configs = namedLines(f.get('configs'), '=', 'a config line is name=value');
        const r = await data.createTopic({ name: f.get('name'), partitions: f.get('partitions'), replicationFactor: f.get('replicationFactor'), configs });
        return redirect(`/console/topics/${seg(r.name)}`, `Topic ${r.name} created with ${r.partitions} partition(s).`);
      }
    } else if (sub === undefined && method === 'GET') {
      return topicPage(data, name, url);
    } else if (sub === 'configs' && method === 'POST') {
      const f = await formBody(req);
      const config = (f.get('name') ?? '').trim();
      const op = f.get('op') === 'delete' ? 'delete' : 'set';
      const value = f.get('value') ?? '';
      try {
        await data.alterTopicConfigs(name, op === 'set' ? { set: { [config]: value } } : { delete: [config] });
      } catch (err) {
        const status = statusOf(err);
        if (status !== 400) throw err;
        // The broker's reason (an invalid value...) on the topic page, the form as it was typed.
        return topicPage(data, name, url, { status, error: (err as Error)?.message ?? String(err), form: { name: config, value } });
      }
      // #main: the notice at the top in view (a redirect without a fragment keeps the form's #set-config).
      return redirect(`/console/topics/${seg(name)}`, op === 'set' ? `Config ${config} set to ${value}.` : `Config ${config} deleted (back to the default).`, '#main');
    } else if (sub === 'delete') {
      if (method === 'GET') return deletePage(name, url);
      if (method === 'POST') {
        const f = await formBody(req);
        if (f.get('confirm') !== name) return deletePage(name, url, { status: 400, error: `type the topic's name to confirm its deletion` });
        try {
          await data.deleteTopic(name);
        } catch (err) {
          const status = statusOf(err);
          if (status !== 400 && status !== 403) throw err;
          // A refusal (not authorized, an internal topic...): the broker's answer on the confirmation page.
          return deletePage(name, url, { status, error: (err as Error)?.message ?? String(err) });
        }
        return redirect('/console/topics', `Topic ${name} deleted.`);
      }
    } else if (sub === 'messages') {
      if (method === 'GET') return messagesPage(data, name, url);
      if (method === 'POST') {
        const f = await formBody(req);
        const headers = namedLines(f.get('headers'), ':', 'a header line is name: value');
        const r = await data.produce(name, { partition: f.get('partition'), key: f.get('key') ?? '', value: f.get('value') ?? '', headers });
        return redirect(`/console/topics/${seg(name)}/messages?partition=${r.partition}&offset=${r.offset}`, `Produced to partition ${r.partition} at offset ${r.offset}.`);
      }
    } else if (sub === 'tail' && method === 'GET') {
      return tailPage(data, name, url);
    }
  } else if (kind === 'groups') {
    if (name === undefined && method === 'GET') return groupsPage(data, url);
    if (name !== undefined && sub === undefined && method === 'GET') return groupPage(data, name, url);
    if (name !== undefined && sub === 'delete') {
      if (method === 'GET') return groupDeletePage(data, name, url);
      if (method === 'POST') {
        const f = await formBody(req);
        if (f.get('confirm') !== name) return groupDeletePage(data, name, url, { status: 400, error: `type the group's id to confirm its deletion` });
        try {
          await data.deleteGroup(name);
        } catch (err) {
          const status = statusOf(err);
          if (status !== 409 && status !== 400) throw err;
          // NON_EMPTY_GROUP (members still in it): the broker's answer on the confirmation page.
          return groupDeletePage(data, name, url, { status, error: (err as Error)?.message ?? String(err) });
        }
        return redirect('/console/groups', `Group ${name} deleted.`);
      }
    }
    if (name !== undefined && sub === 'reset-offsets' && method === 'POST') {
      const f = await formBody(req);
      const r = await data.resetOffsets(name, { topic: f.get('topic'), to: f.get('to'), offset: f.get('offset'), timestamp: f.get('timestamp') });
      return redirect(`/console/groups/${seg(name)}`, `Offsets of ${r.offsets.length} partition(s) reset.`);
    }
  }
  throw new HttpError(404, `no page ${method} ${url.pathname}`);
}

// -------------------------------------------------------------------------------------------------
// Overview

const THROUGHPUT_SCRIPT = `
(function(){
  var box=document.getElementById('throughput');
  var chart=document.getElementById('throughput-chart');
  var seriesIn=[],seriesOut=[],N=40,W=400,H=100;
  function fmt(n){return n<1024?n.toFixed(0)+' B/s':n<1048576?(n/1024).toFixed(1)+' KiB/s':(n/1048576).toFixed(1)+' MiB/s';}
  function points(s,max){return s.map(function(v,i){return (W*(i+N-s.length)/(N-1)).toFixed(1)+','+(H-H*v/max).toFixed(1);}).join(' ');}
  function draw(){
    if(!chart) return;
    var max=Math.max.apply(null,seriesIn.concat(seriesOut,[1]));
    document.getElementById('line-in').setAttribute('points',points(seriesIn,max));
    document.getElementById('line-out').setAttribute('points',points(seriesOut,max));
    document.getElementById('chart-max').textContent=fmt(max);
    chart.setAttribute('aria-label','Bytes in and out per second over the last '+seriesIn.length+' readings; latest in '+fmt(seriesIn[seriesIn.length-1]||0)+', out '+fmt(seriesOut[seriesOut.length-1]||0));
  }
  function tick(){
    fetch('/api/cluster',{cache:'no-store'}).then(function(r){return r.json();}).then(function(c){
      var t=c.throughput; if(!t) return;
      document.getElementById('bytes-in').textContent=fmt(t.bytesInPerSec);
      document.getElementById('bytes-out').textContent=fmt(t.bytesOutPerSec);
      document.getElementById('msgs-in').textContent=t.messagesInPerSec.toFixed(1)+'/s';
      box.setAttribute('data-interval-ms',String(t.intervalMs));
      seriesIn.push(t.bytesInPerSec);seriesOut.push(t.bytesOutPerSec);
      if(seriesIn.length>N){seriesIn.shift();seriesOut.shift();}
      draw();
    }).catch(function(){});
  }
  if(box&&box.getAttribute('data-metrics')==='on'){tick();setInterval(tick,3000);}
})();
`;

async function overview(data: ConsoleData, url: URL): Promise<HttpAnswer> {
  const c = await data.cluster();
  const t = c.throughput;
  const rate = (n: number | undefined, unit: 'bytes' | 'msgs'): string => (n === undefined ? 'measuring…' : unit === 'bytes' ? `${fmtBytes(Math.round(n))}/s` : `${n.toFixed(1)}/s`);
  const body = html`<h1>Cluster overview</h1>
<ul class="figures" aria-label="Cluster figures">
<li><span class="v">${c.brokers.length}</span> broker(s)</li>
<li><span class="v">${c.topicCount}</span> topics</li>
<li><span class="v">${c.partitionCount}</span> partitions</li>
<li><span class="v">${c.underReplicatedPartitions}</span> under-replicated</li>
</ul>
<p>Cluster id <code>${c.clusterId ?? '-'}</code>, controller <strong>${c.controllerId}</strong>.</p>
<h2>Brokers</h2>
<table>
<caption class="muted">Every broker of the cluster (DescribeCluster)</caption>
<thead><tr><th scope="col">Node id</th><th scope="col">Host</th><th scope="col">Port</th><th scope="col">Rack</th><th scope="col">Role</th></tr></thead>
<tbody>${c.brokers.map((b) => html`<tr><th scope="row">${b.nodeId}</th><td>${b.host}</td><td class="num">${b.port}</td><td>${b.rack ?? '-'}</td><td>${b.nodeId === c.controllerId ? 'controller' : ''}</td></tr>`)}</tbody>
</table>
<h2>Throughput of this broker</h2>
<div id="throughput" data-metrics="${data.metricsOn ? 'on' : 'off'}" aria-live="polite">
${
  data.metricsOn
    ? html`<ul class="figures">
<li><span class="v" id="bytes-in">${rate(t?.bytesInPerSec, 'bytes')}</span> bytes in</li>
<li><span class="v" id="bytes-out">${rate(t?.bytesOutPerSec, 'bytes')}</span> bytes out (consumers)</li>
<li><span class="v" id="msgs-in">${rate(t?.messagesInPerSec, 'msgs')}</span> records in</li>
</ul>
<figure>
<svg id="throughput-chart" role="img" aria-label="Bytes in and out per second (no readings yet)" viewBox="-2 -12 404 116" width="404" height="116">
<line x1="0" y1="100" x2="400" y2="100" stroke="#999"/>
<text x="0" y="-2" font-size="10" fill="#555">max <tspan id="chart-max">-</tspan></text>
<polyline id="line-in" fill="none" stroke="#1f6feb" stroke-width="2" points=""/>
<polyline id="line-out" fill="none" stroke="#c2410c" stroke-width="2" stroke-dasharray="5 3" points=""/>
</svg>
<figcaption class="muted">Bytes in (solid blue) and out (dashed orange) per second, the last 2 minutes.</figcaption>
</figure>
<p class="muted">From this broker's metrics counters, between two reads (refreshed every 3 s). Other brokers count their own: see their consoles or <code>/metrics</code>.</p>`
    : html`<p class="muted">Metrics are off on this broker (<code>metrics: false</code>), so there is no throughput figure.</p>`
}
</div>
<script>${new Html(THROUGHPUT_SCRIPT)}</script>`;
  return page('Overview', 'overview', body, url);
}

// -------------------------------------------------------------------------------------------------
// Topics

async function topicsPage(data: ConsoleData, url: URL): Promise<HttpAnswer> {
  const q = url.searchParams.get('q') ?? '';
  const p = await data.topics(pageOf(url, 100), q);
  const params = new URLSearchParams(q ? { q } : {});
  const body = html`<h1>Topics</h1>
<form method="get" action="/console/topics" role="search">
<label for="topic-filter">Filter by name</label> <input id="topic-filter" name="q" value="${q}" type="search"> <button type="submit">Filter</button>
</form>
${pager('/console/topics', params, p, 'topics')}
<table>
<thead><tr><th scope="col">Name</th><th scope="col" class="num">Partitions</th><th scope="col" class="num">Replication factor</th><th scope="col" class="num">Messages</th><th scope="col">Browse</th></tr></thead>
<tbody>${p.topics.map(
    (t) =>
      html`<tr><th scope="row"><a href="/console/topics/${seg(t.name)}">${t.name}</a>${t.internal ? html` <span class="muted">(internal)</span>` : ''}</th><td class="num">${t.partitions}</td><td class="num">${t.replicationFactor}</td><td class="num">${t.messages ?? '-'}</td><td><a href="/console/topics/${seg(t.name)}/messages" aria-label="Messages of ${t.name}">messages</a> · <a href="/console/topics/${seg(t.name)}/tail" aria-label="Live tail of ${t.name}">tail</a></td></tr>`,
  )}</tbody>
</table>
<p class="muted">Messages: latest minus earliest offset over the partitions (compacted topics and transaction markers make it an upper bound).</p>
<h2 id="create">Create a topic</h2>
<form class="box" method="post" action="/console/topics" aria-labelledby="create">
<label>Name <input name="name" required maxlength="249" pattern="[a-zA-Z0-9._\\-]+" autocomplete="off"></label>
<label>Partitions <input name="partitions" type="number" min="1" max="100000" placeholder="broker default"></label>
<label>Replication factor <input name="replicationFactor" type="number" min="1" max="100" placeholder="broker default"></label>
<br><label for="create-configs">Configs, one <code>name=value</code> a line (optional)</label><br>
<textarea id="create-configs" name="configs" rows="3" cols="50" placeholder="cleanup.policy=compact"></textarea>
<br><button type="submit">Create topic</button>
</form>`;
  return page('Topics', 'topics', body, url);
}

async function topicPage(data: ConsoleData, name: string, url: URL, opts: { status?: number; error?: string; form?: { name: string; value: string } } = {}): Promise<HttpAnswer> {
  const t = await data.topic(name);
  // The config form: as typed when the broker refused it, else the config chosen with "edit".
  const chosen = t.configs.find((c) => c.name === url.searchParams.get('config'));
  const formName = opts.form?.name ?? chosen?.name ?? '';
  const formValue = opts.form?.value ?? (chosen && !chosen.sensitive ? (chosen.value ?? '') : '');
  const base = `/console/topics/${seg(name)}`;
  const body = html`<h1>Topic ${name}</h1>
<p>Id <code>${t.topicId}</code>${t.internal ? ' (internal)' : ''} · <a href="${base}/messages">Browse messages</a> · <a href="${base}/tail">Live tail</a> · <a href="${base}/delete">Delete topic&hellip;</a></p>
<h2>Partitions</h2>
<table>
<thead><tr><th scope="col" class="num">Partition</th><th scope="col" class="num">Earliest offset</th><th scope="col" class="num">Latest offset</th><th scope="col" class="num">Messages</th><th scope="col" class="num">Leader</th><th scope="col">Replicas</th><th scope="col">In-sync replicas</th><th scope="col" class="num">Size (leader)</th></tr></thead>
<tbody>${t.partitions.map(
    (p) =>
      html`<tr><th scope="row" class="num"><a href="${base}/messages?partition=${p.partition}" aria-label="Messages of partition ${p.partition}">${p.partition}</a></th><td class="num">${p.earliestOffset ?? '-'}</td><td class="num">${p.latestOffset ?? '-'}</td><td class="num">${p.earliestOffset !== null && p.latestOffset !== null ? p.latestOffset - p.earliestOffset : '-'}</td><td class="num">${p.leader}</td><td>${p.replicas.join(', ')}</td><td>${p.isr.join(', ')}</td><td class="num">${fmtBytes(p.sizeBytes)}</td></tr>`,
  )}</tbody>
</table>
<h2 id="configs">Configs</h2>
<table aria-labelledby="configs">
<thead><tr><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Source</th><th scope="col">Change</th></tr></thead>
<tbody>${t.configs.map(
    (c) =>
      html`<tr${c.isDefault ? new Html(' class="muted"') : ''}><th scope="row"><code>${c.name}</code></th><td>${c.sensitive ? '(sensitive)' : (c.value ?? '-')}</td><td>${c.source}</td><td>${
        c.readOnly
          ? html`<span class="muted">read-only</span>`
          : html`<a href="${base}?config=${encodeURIComponent(c.name)}#set-config" aria-label="Edit ${c.name}">edit</a>${
              c.source === 'DYNAMIC_TOPIC_CONFIG'
                ? html` <form class="inline" method="post" action="${base}/configs#set-config"><input type="hidden" name="name" value="${c.name}"><button type="submit" name="op" value="delete" aria-label="Delete ${c.name} (back to the default)">delete</button></form>`
                : ''
            }`
      }</td></tr>`,
  )}</tbody>
</table>
<h3 id="set-config">Set or delete a config</h3>
<form class="box" method="post" action="${base}/configs#set-config" aria-labelledby="set-config">
${opts.error ? html`<p class="error" role="alert" id="config-error">${opts.error}</p>` : ''}
<label for="config-name">Config name</label> <input id="config-name" name="name" list="config-names" required autocomplete="off" value="${formName}">
<datalist id="config-names">${t.configs.filter((c) => !c.readOnly).map((c) => html`<option value="${c.name}">`)}</datalist>
<label for="config-value">Value</label> <input id="config-value" name="value" value="${formValue}" size="30"${opts.error ? new Html(' aria-invalid="true" aria-describedby="config-error"') : ''}>
<button type="submit" name="op" value="set">Set config</button>
<button type="submit" name="op" value="delete">Delete config</button>
<p class="muted">Set gives the topic its own value (IncrementalAlterConfigs, as <code>kafka-configs --alter --add-config</code>); delete removes it, back to the broker's default. The broker checks the value and says why it refuses one.</p>
</form>`;
  // A refused change is shown next to its form (role=alert there), not at the top of the page.
  return page(`Topic ${name}`, 'topics', body, url, opts.status ?? 200);
}

/** A textarea of `name<sep>value` lines (blank lines skipped) as an object; a bad line is a 400 saying `rule`. */
function namedLines(text: string | undefined | null, sep: string, rule: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (text ?? '').split(/\r?\n/)) {
    const t = line.trim();
    if (t === '') continue;
    const i = t.indexOf(sep);
    if (i <= 0) throw new HttpError(400, `${rule}, not "${t}"`);
    out[t.slice(0, i).trim()] = t.slice(i + 1).trim();
  }
  return out;
}

function deletePage(name: string, url: URL, opts: { status?: number; error?: string } = {}): HttpAnswer {
  const body = html`<h1>Delete topic ${name}?</h1>
<p>Deleting a topic removes all its partitions and messages on every broker. This cannot be undone.</p>
<form class="box" method="post" action="/console/topics/${seg(name)}/delete">
<label>Type the topic's name to confirm <input name="confirm" required autocomplete="off"></label>
<button type="submit" class="danger">Delete topic</button> <a href="/console/topics/${seg(name)}">Cancel</a>
</form>`;
  return page(`Delete ${name}`, 'topics', body, url, opts.status ?? 200, opts.error ?? null);
}

function recordRows(records: ShownRecord[]): Html[] {
  return records.map(
    (r) =>
      html`<tr><th scope="row" class="num">${r.partition}:${r.offset}</th><td><time datetime="${fmtTime(r.timestamp)}">${fmtTime(r.timestamp)}</time><br><span class="muted">${r.timestampType}</span></td><td>${shown(r.key)}</td><td>${shown(r.value)}</td><td>${
        r.headers.length === 0 ? html`<span class="muted">none</span>` : html`<dl>${r.headers.map((h) => html`<dt>${h.key}</dt><dd>${shown(h.value)}</dd>`)}</dl>`
      }</td></tr>`,
  );
}

const RECORD_HEAD = html`<thead><tr><th scope="col">Partition:offset</th><th scope="col">Timestamp</th><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Headers</th></tr></thead>`;

async function messagesPage(data: ConsoleData, name: string, url: URL): Promise<HttpAnswer> {
  const q = messageQuery(url);
  const meta = await data.kafka.topic(name);
  const m = await data.messages(name, q);
  const base = `/console/topics/${seg(name)}/messages`;
  const nextParams = new URLSearchParams({ partition: String(m.partition), offset: String(m.next), limit: String(q.limit) });
  if (m.query) nextParams.set('q', m.query);
  const body = html`<h1>Messages of ${name}</h1>
<p><a href="/console/topics/${seg(name)}">Topic ${name}</a> · <a href="/console/topics/${seg(name)}/tail">Live tail</a></p>
<form class="box" method="get" action="${base}" aria-label="Choose messages">
<label for="browse-partition">Partition</label> <select id="browse-partition" name="partition">${meta.partitions.map((p) => html`<option value="${p.partition}"${p.partition === m.partition ? new Html(' selected') : ''}>${p.partition}</option>`)}</select>
<label>From offset <input name="offset" inputmode="numeric" pattern="[0-9]*" value="${url.searchParams.get('offset') ?? ''}" placeholder="last page"></label>
<label>or from time <input name="timestamp" value="${url.searchParams.get('timestamp') ?? ''}" placeholder="2026-01-31T12:00 (UTC) or ms"></label>
<label>Records <input name="limit" type="number" min="1" max="200" value="${q.limit}"></label>
<label>Search in this page <input name="q" type="search" value="${m.query}"></label>
<button type="submit">Show</button>
</form>
<p>Partition ${m.partition}: offsets ${m.earliestOffset} to ${m.latestOffset} (exclusive). Read ${m.scanned} record(s) from offset ${m.from}${m.query ? html`, ${m.records.length} contain &ldquo;${m.query}&rdquo;` : ''}.
${m.next < m.latestOffset ? html`<a href="${base}?${nextParams.toString()}" rel="next">Next records</a>` : html`<span class="muted">End of the partition.</span>`}</p>
<table aria-label="Records">
${RECORD_HEAD}
<tbody>${recordRows(m.records)}</tbody>
</table>
<h2 id="produce">Produce a message</h2>
<form class="box" method="post" action="${base}" aria-labelledby="produce">
<label for="produce-partition">Partition</label> <select id="produce-partition" name="partition"><option value="">by key (or spread)</option>${meta.partitions.map((p) => html`<option value="${p.partition}">${p.partition}</option>`)}</select>
<label>Key <input name="key" placeholder="none"></label>
<br><label for="produce-value">Value (text; JSON stays as typed)</label><br>
<textarea id="produce-value" name="value" rows="5" cols="70"></textarea>
<br><label for="produce-headers">Headers, one <code>name: value</code> a line (optional)</label><br>
<textarea id="produce-headers" name="headers" rows="2" cols="70"></textarea>
<br><button type="submit">Produce</button>
</form>`;
  return page(`Messages of ${name}`, 'topics', body, url);
}

const TAIL_SCRIPT = `
(function(){
  var root=document.getElementById('tail'); var topic=root.getAttribute('data-topic');
  var body=document.getElementById('tail-rows'); var status=document.getElementById('tail-status');
  var btn=document.getElementById('tail-toggle'); var cursor=''; var on=true; var timer=null; var polling=false; var es=null; var MAX=200;
  var api='/api/topics/'+encodeURIComponent(topic)+'/tail'; var sse=typeof window.EventSource==='function';
  function cell(tr,text,cls){var td=document.createElement('td'); if(cls){td.className=cls;} td.textContent=text; tr.appendChild(td); return td;}
  function shown(td,v){ if(v.kind==='null'){var s=document.createElement('span');s.className='muted';s.textContent='null';td.appendChild(s);return;}
    var k=document.createElement('span');k.className='kind';k.textContent=v.kind+(v.truncated?' (cut, '+v.size+' bytes)':'');td.appendChild(k);
    var pre=document.createElement('pre');pre.textContent=v.text;td.appendChild(pre);}
  function add(r){var tr=document.createElement('tr'); var th=document.createElement('th'); th.scope='row'; th.className='num'; th.textContent=r.partition+':'+r.offset; tr.appendChild(th);
    cell(tr,new Date(Number(r.timestamp)).toISOString()); var k=cell(tr,''); shown(k,r.key); var v=cell(tr,''); shown(v,r.value);
    cell(tr,r.headers.map(function(h){return h.key+': '+h.value.text;}).join('\\n')); body.insertBefore(tr,body.firstChild);
    while(body.rows.length>MAX){body.deleteRow(body.rows.length-1);} }
  function got(j){ cursor=j.cursor; j.records.forEach(add); if(j.records.length){status.textContent='Received '+j.records.length+' record(s) at '+new Date().toISOString();} }
  function ready(mode){ root.setAttribute('data-mode',mode); root.setAttribute('data-ready','1'); }
  // Pushed by the server (Server-Sent Events); an EventSource reconnects by itself and resumes
  // from the last event's id. Refused (e.g. too many tails open): poll instead.
  function stream(){
    es=new EventSource(api+'/stream'+(cursor?'?cursor='+encodeURIComponent(cursor):''));
    es.addEventListener('ready',function(e){ cursor=JSON.parse(e.data).cursor; status.textContent='Live: waiting for new records…'; ready('stream'); });
    es.onmessage=function(e){ got(JSON.parse(e.data)); };
    es.addEventListener('problem',function(e){ status.textContent='Error: '+JSON.parse(e.data).error; if(es){es.close(); es=null;} });
    es.onerror=function(){ if(!es) return; if(es.readyState===2){ es.close(); es=null; sse=false; if(on) poll(); } else { status.textContent='Connection lost, reconnecting…'; } };
  }
  function poll(){ timer=null; if(!on||polling) return; polling=true;
    fetch(api+'?limit=100&cursor='+encodeURIComponent(cursor),{cache:'no-store'})
      .then(function(r){return r.json().then(function(j){if(!r.ok) throw new Error(j.error||r.status); return j;});})
      .then(function(j){got(j); if(!j.records.length&&!root.getAttribute('data-ready')){status.textContent='Waiting for new records (polled every second)…';} ready('poll');})
      .catch(function(e){status.textContent='Error: '+e.message;})
      .then(function(){ polling=false; if(on&&!timer) timer=setTimeout(poll,1000); });
  }
  function start(){ if(sse) stream(); else poll(); }
  function stop(){ if(es){es.close(); es=null;} if(timer){clearTimeout(timer); timer=null;} }
  btn.addEventListener('click',function(){on=!on; btn.textContent=on?'Pause':'Resume'; btn.setAttribute('aria-pressed',on?'false':'true'); if(on){start();}else{stop(); status.textContent='Paused.';}});
  start();
})();
`;

async function tailPage(data: ConsoleData, name: string, url: URL): Promise<HttpAnswer> {
  await data.kafka.topic(name); // 404 for an unknown topic
  const body = html`<h1>Live tail of ${name}</h1>
<p><a href="/console/topics/${seg(name)}">Topic ${name}</a> · <a href="/console/topics/${seg(name)}/messages">Browse messages</a></p>
<div id="tail" data-topic="${name}">
<p>New records on every partition, newest first (the last 200 kept), pushed as they arrive. <button id="tail-toggle" type="button" aria-pressed="false">Pause</button></p>
<p id="tail-status" role="status" aria-live="polite">Waiting for new records&hellip;</p>
<noscript><p class="error">The live tail needs JavaScript; <a href="/console/topics/${seg(name)}/messages">the message browser</a> works without it.</p></noscript>
<table aria-label="New records">
${RECORD_HEAD}
<tbody id="tail-rows"></tbody>
</table>
</div>
<script>${new Html(TAIL_SCRIPT)}</script>`;
  return page(`Tail ${name}`, 'topics', body, url);
}

// -------------------------------------------------------------------------------------------------
// Groups

async function groupsPage(data: ConsoleData, url: URL): Promise<HttpAnswer> {
  const q = url.searchParams.get('q') ?? '';
  const p = await data.groups(pageOf(url, 50), q);
  const body = html`<h1>Consumer groups</h1>
<form method="get" action="/console/groups" role="search">
<label for="group-filter">Filter by id</label> <input id="group-filter" name="q" value="${q}" type="search"> <button type="submit">Filter</button>
</form>
${pager('/console/groups', new URLSearchParams(q ? { q } : {}), p, 'groups')}
<table>
<thead><tr><th scope="col">Group id</th><th scope="col">State</th><th scope="col" class="num">Members</th><th scope="col" class="num">Total lag</th><th scope="col" class="num">Coordinator</th></tr></thead>
<tbody>${p.groups.map((g) => html`<tr><th scope="row"><a href="/console/groups/${seg(g.groupId)}">${g.groupId}</a></th><td>${g.state}</td><td class="num">${g.members}</td><td class="num">${g.totalLag ?? '-'}</td><td class="num">${g.coordinator}</td></tr>`)}</tbody>
</table>`;
  return page('Consumer groups', 'groups', body, url);
}

async function groupPage(data: ConsoleData, id: string, url: URL): Promise<HttpAnswer> {
  const g = await data.group(id);
  const topics = [...new Set(g.offsets.map((o) => o.topic))];
  const reset = g.resettable
    ? html`<form class="box" method="post" action="/console/groups/${seg(id)}/reset-offsets" aria-labelledby="reset">
<label for="reset-topic">Topic</label> <select id="reset-topic" name="topic"><option value="">every partition with a committed offset</option>${topics.map((t) => html`<option value="${t}">${t}</option>`)}</select>
<fieldset><legend>Reset to</legend>
<label><input type="radio" name="to" value="earliest" checked> earliest</label>
<label><input type="radio" name="to" value="latest"> latest</label>
<label><input type="radio" name="to" value="offset"> offset</label> <label>Offset <input name="offset" inputmode="numeric" pattern="-?[0-9]*"></label>
<label><input type="radio" name="to" value="timestamp"> time</label> <label>Time <input name="timestamp" placeholder="2026-01-31T12:00 (UTC) or ms"></label>
</fieldset>
<button type="submit">Reset offsets</button> <span class="muted">Each offset is kept within the partition's earliest and latest.</span>
</form>`
    : html`<p class="muted">Offsets can be reset only while the group has no members (it is ${g.state} with ${g.members.length}): stop its consumers first.</p>`;
  const body = html`<h1>Consumer group ${id}</h1>
<p>State <strong>${g.state}</strong> · protocol ${g.protocolType || '-'}${g.protocol ? ` / ${g.protocol}` : ''} · coordinator ${g.coordinator} · total lag <strong>${g.totalLag}</strong> · <a href="/console/groups/${seg(id)}/delete">Delete group&hellip;</a></p>
<h2>Members</h2>
${
  g.members.length === 0
    ? html`<p class="muted">No members.</p>`
    : html`<table>
<thead><tr><th scope="col">Member id</th><th scope="col">Client id</th><th scope="col">Host</th><th scope="col">Assigned partitions</th></tr></thead>
<tbody>${g.members.map((m) => html`<tr><th scope="row"><code>${m.memberId}</code>${m.groupInstanceId ? html`<br><span class="muted">instance ${m.groupInstanceId}</span>` : ''}</th><td>${m.clientId}</td><td>${m.host}</td><td>${m.assignment.map((a) => `${a.topic}/${a.partition}`).join(', ') || '-'}</td></tr>`)}</tbody>
</table>`
}
<h2>Offsets and lag</h2>
<table>
<thead><tr><th scope="col">Topic</th><th scope="col" class="num">Partition</th><th scope="col" class="num">Committed offset</th><th scope="col" class="num">Log end offset</th><th scope="col" class="num">Lag</th><th scope="col">Member</th></tr></thead>
<tbody>${g.offsets.map((o) => html`<tr><th scope="row"><a href="/console/topics/${seg(o.topic)}">${o.topic}</a></th><td class="num">${o.partition}</td><td class="num">${o.committedOffset ?? '-'}</td><td class="num">${o.logEndOffset ?? '-'}</td><td class="num">${o.lag ?? '-'}</td><td><code>${o.memberId ?? '-'}</code></td></tr>`)}</tbody>
</table>
<h2 id="reset">Reset offsets</h2>
${reset}`;
  return page(`Group ${id}`, 'groups', body, url);
}

async function groupDeletePage(data: ConsoleData, id: string, url: URL, opts: { status?: number; error?: string } = {}): Promise<HttpAnswer> {
  const g = await data.group(id);
  const body = html`<h1>Delete consumer group ${id}?</h1>
<p>Deleting a group removes its committed offsets (${g.offsets.length} partition(s)); consumers that join it again start from their <code>auto.offset.reset</code>. This cannot be undone.</p>
${
  g.members.length > 0
    ? html`<p><strong>It has ${g.members.length} member(s) now (${g.state}):</strong> the broker refuses to delete a group with members (NON_EMPTY_GROUP). Stop its consumers first.</p>`
    : html`<p>It is ${g.state}, with no members.</p>`
}
<form class="box" method="post" action="/console/groups/${seg(id)}/delete">
<label>Type the group's id to confirm <input name="confirm" required autocomplete="off"></label>
<button type="submit" class="danger">Delete group</button> <a href="/console/groups/${seg(id)}">Cancel</a>
</form>`;
  return page(`Delete group ${id}`, 'groups', body, url, opts.status ?? 200, opts.error ?? null);
}
