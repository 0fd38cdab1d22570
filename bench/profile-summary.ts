// Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): the functions with the
// most self time, and the most inclusive time, with their share of all samples.
//
//   node dist/bench/profile-summary.js FILE.cpuprofile [--top N] [--phase produce|fetch] [--callers TEXT]

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function label(cf: CallFrame): string {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return name;
  let file = cf.url.replace(/^file:\/\//, '');
  file = file.startsWith('/') ? relative(process.cwd(), file) : file;
  return `${name} ${file}:${cf.lineNumber + 1}`;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N] [--phase produce|fetch] [--callers TEXT]\n');
    process.exit(2);
  }
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // --phase NAME: only the samples inside that phase's window (FILE.phases.json, written by
  // the bench next to the profile; CLOCK_MONOTONIC µs like the profile's timestamps).
  const phaseIdx = args.indexOf('--phase');
  let window: [number, number] = [-Infinity, Infinity];
  if (phaseIdx >= 0) {
    const name = args[phaseIdx + 1]!;
    const windows = JSON.parse(readFileSync(file.replace(/\.cpuprofile$/, '.phases.json'), 'utf8')) as Record<string, [number, number]>;
    if (!windows[name]) throw new Error(`no phase ${name} in ${Object.keys(windows).join(', ')}`);
    window = windows[name];
  }
  // Self time per node (µs).
  const selfNode = new Map<number, number>();
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t < window[0] || t > window[1]) continue;
    selfNode.set(id, (selfNode.get(id) ?? 0) + dt);
  }
  let total = 0;
  for (const v of selfNode.values()) total += v;

  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of selfNode) {
    const n = byId.get(id)!;
    const key = label(n.callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    // Inclusive: add to every distinct function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  // --callers TEXT: self time of the functions whose label contains TEXT, split by caller.
  const callersIdx = args.indexOf('--callers');
  const callersOf = callersIdx >= 0 ? args[callersIdx + 1] : undefined;
  const callers = new Map<string, number>();
  if (callersOf) {
    for (const [id, us] of selfNode) {
      if (!label(byId.get(id)!.callFrame).includes(callersOf)) continue;
      // Walk up past node-internal frames to the first frame outside node: (the real caller).
      let cur = parent.get(id);
      const chain: string[] = [];
      while (cur !== undefined && chain.length < 8) {
        const l = label(byId.get(cur)!.callFrame);
        chain.push(l.split(' ')[0]!);
        if (!l.includes(' node:')) break;
        cur = parent.get(cur);
      }
      const k = cur === undefined ? '(none)' : `${label(byId.get(cur)!.callFrame)}  [via ${chain.slice(0, -1).join(' < ') || '-'}]`;
      callers.set(k, (callers.get(k) ?? 0) + us);
    }
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  const fmt = (m: Map<string, number>, skip: Set<string>): string =>
    [...m]
      .filter(([k]) => !skip.has(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  const out = [
    `${file}${phaseIdx >= 0 ? ` (phase ${args[phaseIdx + 1]})` : ''}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (not idle); percentages of busy time`,
    '',
    `Top ${top} by self time:`,
    fmt(self, new Set(['(idle)'])),
    '',
    `Top ${top} by inclusive time:`,
    fmt(incl, new Set(['(idle)', '(root)'])),
  ];
  if (callersOf) out.push('', `Self time of "${callersOf}" by first caller outside node internals:`, fmt(callers, new Set()));
  process.stdout.write(out.join('\n') + '\n');
}

main();
