// TypeScript emission for one message: interfaces, straight-line decoders/encoders with
// `version` checks, default helpers and the schema fact table.

import type { Default, Elem, Field, Kind, Message, Prim, Struct } from './model.js';
import type { RawField } from './spec.js';

// ---------------------------------------------------------------------------------------------
// Version conditions

/** A JS condition on `version` true for `subset` and false for the rest of `universe`; null = always. */
export function cond(subset: readonly number[], universe: readonly number[]): string | null {
  const s = new Set(subset);
  const out = universe.filter((u) => !s.has(u));
  if (out.length === 0) return null;
  const clauses: string[] = [];
  for (let i = 0; i < universe.length; ) {
    if (!s.has(universe[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < universe.length && s.has(universe[j + 1]!)) j++;
    const a = universe[i]!;
    const b = universe[j]!;
    const lo = out.some((u) => u < a);
    const hi = out.some((u) => u > b);
    if (lo && hi) clauses.push(a === b ? `version === ${a}` : `version >= ${a} && version <= ${b}`);
    else if (lo) clauses.push(`version >= ${a}`);
    else clauses.push(`version <= ${b}`);
    i = j + 1;
  }
  if (clauses.length === 0) return 'false';
  if (clauses.length === 1) return clauses[0]!;
  return clauses.map((c) => (c.includes('&&') ? `(${c})` : c)).join(' || ');
}

interface Alt {
  cond: string | null;
  code: string;
}

interface Group {
  cond: string | null;
  key: string;
  versions: number[];
}

/**
 * Groups the versions of `universe` by the key `keyOf` gives them and returns the groups newest
 * first, with the `fallback` key (absent field) last, each with the condition selecting it
 * among the versions not taken by earlier groups.
 */
function groupVersions(universe: readonly number[], keyOf: (v: number) => string, fallback: string): Group[] {
  const groups = new Map<string, number[]>();
  for (const v of universe) {
    const key = keyOf(v);
    const g = groups.get(key);
    if (g) g.push(v);
    else groups.set(key, [v]);
  }
  const ordered = [...groups.entries()].sort((a, b) => {
    if (a[0] === fallback) return 1;
    if (b[0] === fallback) return -1;
    return Math.max(...b[1]) - Math.max(...a[1]);
  });
  const out: Group[] = [];
  let rest = [...universe];
  ordered.forEach(([key, versions], i) => {
    const c = i === ordered.length - 1 ? null : cond(versions, rest);
    out.push({ cond: c, key, versions });
    const used = new Set(versions);
    rest = rest.filter((v) => !used.has(v));
  });
  return out;
}

/** Like groupVersions, with the code of each group rendered by `render` (default: the key). */
function choose(
  universe: readonly number[],
  keyOf: (v: number) => string,
  fallback: string,
  render: (key: string, versions: number[]) => string = (key) => key,
): Alt[] {
  return groupVersions(universe, keyOf, fallback).map((g) => ({ cond: g.cond, code: render(g.key, g.versions) }));
}

/** A boolean expression for "version is in subset" among `universe` (literal when constant). */
function boolIn(subset: readonly number[], universe: readonly number[]): string {
  if (subset.length === 0) return 'false';
  return cond(subset, universe) ?? 'true';
}

function asExpression(alts: Alt[]): string {
  let out = '';
  for (const a of alts) {
    if (a.cond === null) return out + a.code;
    out += `${a.cond} ? ${a.code} : `;
  }
  throw new Error('unreachable');
}

/** Renders alternatives as an if/else chain of single statements (empty code = nothing). */
function asStatements(alts: Alt[], indent: string): string[] {
  const live = alts.filter((a) => a.code !== '');
  if (live.length === 0) return [];
  if (alts.length === 1) return [indent + alts[0]!.code];
  const lines: string[] = [];
  alts.forEach((a, i) => {
    if (a.code === '') return;
    const head = i === 0 ? 'if' : a.cond === null ? '' : 'else if';
    if (head === '') lines.push(`${indent}else ${a.code}`);
    else lines.push(`${indent}${head} (${a.cond}) ${a.code}`);
  });
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Literals

export function str(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const PRIM_TS: Record<Prim, string> = {
  bool: 'boolean',
  int8: 'number',
  int16: 'number',
  uint16: 'number',
  int32: 'number',
  uint32: 'number',
  int64: 'bigint',
  float64: 'number',
  string: 'string',
  bytes: 'Buffer',
  records: 'Buffer',
  uuid: 'string',
};

function elemTs(e: Elem): string {
  return e.k === 'prim' ? PRIM_TS[e.t] : e.s.tsName;
}

function fieldTs(f: Field): string {
  const k = f.kind;
  const base = k.k === 'array' ? `${elemTs(k.elem)}[]` : elemTs(k);
  return f.nullableType ? `${base} | null` : base;
}

// ---------------------------------------------------------------------------------------------
// Per-message emitter

export class MessageEmitter {
  readonly runtime = new Set<string>();
  private readonly needDefault = new Set<Struct>();
  private readonly needIsDefault = new Set<Struct>();

  constructor(private readonly msg: Message) {}

  private rt(name: string): string {
    this.runtime.add(name);
    return name;
  }

  private compact(f: Field, v: number): boolean {
    return !f.neverCompact && this.msg.flexible.has(v);
  }

  // ---- decoding ----

  private primRead(t: Prim, compact: boolean, nullable: boolean, r: string): string {
    switch (t) {
      case 'string':
        return `${r}.${compact ? (nullable ? 'compactNullableString' : 'compactString') : nullable ? 'nullableString' : 'string'}()`;
      case 'bytes':
      case 'records':
        return `${r}.${compact ? (nullable ? 'compactNullableBytes' : 'compactBytes') : nullable ? 'nullableBytes' : 'bytes'}()`;
      default:
        return `${r}.${t}()`;
    }
  }

  private itemReader(e: Elem, compact: boolean): string {
    if (e.k === 'struct') return `decode${e.s.tsName}`;
    if (e.t === 'records') throw new Error('array of records');
    const name = (e.t === 'string' || e.t === 'bytes') && compact ? `Compact${cap(e.t)}` : cap(e.t);
    return this.rt(`rd${name}`);
  }

  private readExpr(f: Field, v: number, r: string): string {
    const compact = this.compact(f, v);
    const nullable = f.nullable.has(v);
    const k = f.kind;
    if (k.k === 'array') {
      const fn = this.rt(nullable ? 'readNullableArray' : 'readArray');
      const len = `${r}.${compact ? 'compactArrayLength' : 'arrayLength'}()`;
      return `${fn}(${r}, ${len}, ${this.itemReader(k.elem, compact)}, version)`;
    }
    if (k.k === 'struct') {
      const call = `decode${k.s.tsName}(${r}, version)`;
      return nullable ? `(${r}.int8() < 0 ? null : ${call})` : call;
    }
    return this.primRead(k.t, compact, nullable, r);
  }

  /** Versions of an array field share one call; only the length/element readers vary. */
  private readKey(f: Field, v: number, r: string): string {
    return f.kind.k === 'array' ? `#array:${f.nullable.has(v)}` : this.readExpr(f, v, r);
  }

  private readGroup(f: Field, key: string, versions: number[], r: string): string {
    const k = f.kind;
    if (k.k !== 'array') return key;
    const fn = this.rt(f.nullable.has(versions[0]!) ? 'readNullableArray' : 'readArray');
    const len = asExpression(
      choose(versions, (v) => `${r}.${this.compact(f, v) ? 'compactArrayLength' : 'arrayLength'}()`, ''),
    );
    const item = asExpression(choose(versions, (v) => this.itemReader(k.elem, this.compact(f, v)), ''));
    return `${fn}(${r}, ${len}, ${item}, version)`;
  }

  /** The value a decoder fills in when the field is absent. */
  private decodeDefault(f: Field): string {
    return this.defaultLiteral(f.dflt, false);
  }

  private defaultLiteral(d: Default, encoding: boolean): string {
    switch (d.k) {
      case 'null':
        return 'null';
      case 'number':
        return String(d.v);
      case 'bigint':
        return `${d.v}n`;
      case 'bool':
        return String(d.v);
      case 'string':
        return str(d.v);
      case 'uuid':
        return this.rt('ZERO_UUID');
      case 'bytes':
        return this.rt('EMPTY_BUFFER');
      case 'array':
        return '[]';
      case 'struct':
        if (encoding) return '{}';
        this.needDefault.add(d.s);
        return `default${d.s.tsName}()`;
    }
  }

  /** The non-null value written for a null in a version where the field is not nullable. */
  private emptyLiteral(k: Kind): string {
    if (k.k === 'array') return '[]';
    if (k.k === 'struct') return '{}';
    switch (k.t) {
      case 'string':
        return "''";
      case 'bytes':
      case 'records':
        return this.rt('EMPTY_BUFFER');
      case 'uuid':
        return this.rt('ZERO_UUID');
      case 'bool':
        return 'false';
      case 'int64':
        return '0n';
      default:
        return '0';
    }
  }

  private decoder(s: Struct): string[] {
    const U = s.reach;
    const lines: string[] = [];
    const flexU = U.filter((v) => this.msg.flexible.has(v));
    const tagged = s.fields
      .filter((f) => U.some((v) => f.tagged.has(v)))
      .sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
    const isRoot = s === this.msg.root;
    lines.push(
      `${isRoot ? 'export ' : ''}function decode${s.tsName}(r: Reader, version: number): ${s.tsName} {`,
    );
    const obj: string[] = [];
    for (const f of s.fields) {
      const dflt = this.decodeDefault(f);
      const alts = choose(
        U,
        (v) => (f.positional.has(v) ? this.readKey(f, v, 'r') : dflt),
        dflt,
        (key, vs) => (key === dflt ? dflt : this.readGroup(f, key, vs, 'r')),
      );
      obj.push(`    ${f.prop}: ${asExpression(alts)},`);
    }
    if (flexU.length === 0) {
      if (obj.length === 0) lines.push('  return {};');
      else lines.push('  return {', ...obj, '  };');
    } else {
      lines.push(obj.length === 0 ? `  const m: ${s.tsName} = {};` : `  const m: ${s.tsName} = {`, ...obj);
      if (obj.length > 0) lines.push('  };');
      const c = cond(flexU, U);
      const pre = c === null ? '  ' : `  if (${c}) `;
      if (tagged.length === 0) {
        lines.push(`${pre}r.taggedFields();`);
      } else {
        lines.push(`${pre}r.taggedFields((tag, t) => {`, '    switch (tag) {');
        for (const f of tagged) {
          const T = flexU.filter((v) => f.tagged.has(v));
          const valid = cond(T, flexU);
          const expr = asExpression(
            choose(T, (v) => this.readKey(f, v, 't'), '', (key, vs) => this.readGroup(f, key, vs, 't')),
          );
          lines.push(`      case ${f.tag}:`);
          if (valid === null) {
            lines.push(`        m.${f.prop} = ${expr};`, '        return true;');
          } else {
            lines.push(
              `        if (${valid}) {`,
              `          m.${f.prop} = ${expr};`,
              '          return true;',
              '        }',
              '        return false;',
            );
          }
        }
        lines.push('      default:', '        return false;', '    }', '  });');
      }
      lines.push('  return m;');
    }
    lines.push('}');
    return lines;
  }

  // ---- encoding ----

  /** Expression of the value to write: the caller's value with undefined (and forbidden null) replaced. */
  private norm(f: Field, v: number, src: string): string {
    if (f.nullable.has(v)) {
      if (f.dflt.k === 'null') return `${src} ?? null`;
      return `${this.rt('dflt')}(${src}, ${this.defaultLiteral(f.dflt, true)})`;
    }
    const d = f.dflt.k === 'null' ? this.emptyLiteral(f.kind) : this.defaultLiteral(f.dflt, true);
    return `${src} ?? ${d}`;
  }

  private itemWriter(e: Elem, compact: boolean): string {
    if (e.k === 'struct') return `encode${e.s.tsName}`;
    const name = (e.t === 'string' || e.t === 'bytes') && compact ? `Compact${cap(e.t)}` : cap(e.t);
    return this.rt(`wr${name}`);
  }

  private writeStmt(f: Field, v: number, x: string, w: string): string {
    const compact = this.compact(f, v);
    const nullable = f.nullable.has(v);
    const k = f.kind;
    if (k.k === 'array') {
      const fn = this.rt(nullable ? 'writeNullableArray' : 'writeArray');
      return `${fn}(${w}, ${compact}, ${x}, ${this.itemWriter(k.elem, compact)}, version);`;
    }
    if (k.k === 'struct') {
      if (nullable) return `${this.rt('writeNullableStruct')}(${w}, ${x}, encode${k.s.tsName}, version);`;
      return `encode${k.s.tsName}(${w}, ${x}, version);`;
    }
    switch (k.t) {
      case 'string':
        return `${w}.${compact ? (nullable ? 'compactNullableString' : 'compactString') : nullable ? 'nullableString' : 'string'}(${x});`;
      case 'bytes':
        return `${w}.${compact ? (nullable ? 'compactNullableBytes' : 'compactBytes') : nullable ? 'nullableBytes' : 'bytes'}(${x});`;
      case 'records':
        // Records may be referenced instead of copied (Writer.records*: Fetch responses).
        return `${w}.${compact ? (nullable ? 'compactNullableRecords' : 'compactRecords') : nullable ? 'nullableRecords' : 'records'}(${x});`;
      default:
        return `${w}.${k.t}(${x});`;
    }
  }

  private writeKey(f: Field, v: number, src: string, w: string): string {
    return f.kind.k === 'array' ? `#array:${f.nullable.has(v)}` : this.writeStmt(f, v, this.norm(f, v, src), w);
  }

  private writeGroup(f: Field, key: string, versions: number[], src: string, w: string): string {
    const k = f.kind;
    if (k.k !== 'array') return key;
    const v0 = versions[0]!;
    const fn = this.rt(f.nullable.has(v0) ? 'writeNullableArray' : 'writeArray');
    const compact = boolIn(
      versions.filter((v) => this.compact(f, v)),
      versions,
    );
    const item = asExpression(choose(versions, (v) => this.itemWriter(k.elem, this.compact(f, v)), ''));
    return `${fn}(${w}, ${compact}, ${this.norm(f, v0, src)}, ${item}, version);`;
  }

  /** Condition under which the normalised value `t` differs from the field's default. */
  private differs(f: Field, v: number, t: string): string {
    const d = f.dflt;
    const nullable = f.nullable.has(v);
    if (d.k === 'null') return `${t} !== null`;
    const orNull = (c: string): string => (nullable ? `${t} === null || ${c}` : c);
    switch (d.k) {
      case 'number':
        return f.kind.k === 'prim' && f.kind.t === 'float64' ? `!Object.is(${t}, ${d.v})` : `${t} !== ${d.v}`;
      case 'bigint':
        return `${t} !== ${d.v}n`;
      case 'bool':
        return d.v ? `!${t}` : t;
      case 'string':
        return `${t} !== ${str(d.v)}`;
      case 'uuid':
        return `${t} !== ${this.rt('ZERO_UUID')}`;
      case 'bytes':
      case 'array':
        return orNull(`${t}.length !== 0`);
      case 'struct':
        this.needIsDefault.add(d.s);
        return orNull(`!isDefault${d.s.tsName}(${t}, version)`);
    }
  }

  private encoder(s: Struct): string[] {
    const U = s.reach;
    const isRoot = s === this.msg.root;
    const lines: string[] = [];
    lines.push(
      `${isRoot ? 'export ' : ''}function encode${s.tsName}(w: Writer, m: Encodable<${s.tsName}>, version: number): void {`,
    );
    for (const f of s.fields) {
      const src = `m.${f.prop}`;
      const alts = choose(
        U,
        (v) => (f.positional.has(v) ? this.writeKey(f, v, src, 'w') : ''),
        '',
        (key, vs) => (key === '' ? '' : this.writeGroup(f, key, vs, src, 'w')),
      );
      lines.push(...asStatements(alts, '  '));
    }
    const flexU = U.filter((v) => this.msg.flexible.has(v));
    if (flexU.length > 0) {
      const tagged = s.fields
        .filter((f) => U.some((v) => f.tagged.has(v)))
        .sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
      const c = cond(flexU, U);
      if (tagged.length === 0) {
        lines.push(c === null ? '  w.noTaggedFields();' : `  if (${c}) w.noTaggedFields();`);
      } else {
        const ind = c === null ? '  ' : '    ';
        if (c !== null) lines.push(`  if (${c}) {`);
        lines.push(`${ind}const tags: ${this.rt('TaggedWriter')}[] = [];`);
        for (const f of tagged) {
          const t = `t${f.tag}`;
          const alts = choose(
            flexU,
            (v) => {
              if (!f.tagged.has(v)) return '';
              const write = this.writeStmt(f, v, t, 'tw').replace(/;$/, '');
              return `{ const ${t} = ${this.norm(f, v, `m.${f.prop}`)}; if (${this.differs(f, v, t)}) tags.push([${f.tag}, (tw) => ${write}]); }`;
            },
            '',
          );
          lines.push(...asStatements(alts, ind));
        }
        lines.push(`${ind}w.taggedFields(tags);`);
        if (c !== null) lines.push('  }');
      }
    }
    lines.push('}');
    return lines;
  }

  // ---- default helpers ----

  private defaultFn(s: Struct): string[] {
    const body = s.fields.map((f) => `    ${f.prop}: ${this.decodeDefault(f)},`);
    if (body.length === 0) return [`function default${s.tsName}(): ${s.tsName} {`, '  return {};', '}'];
    return [`function default${s.tsName}(): ${s.tsName} {`, '  return {', ...body, '  };', '}'];
  }

  private isDefaultFn(s: Struct): string[] {
    const lines = [`function isDefault${s.tsName}(m: Encodable<${s.tsName}>, version: number): boolean {`];
    for (const f of s.fields) {
      const alts = choose(
        s.reach,
        (v) => (f.all.includes(v) ? `if (${this.differs(f, v, `(${this.norm(f, v, `m.${f.prop}`)})`)}) return false;` : ''),
        '',
      );
      lines.push(...asStatements(alts, '  '));
    }
    lines.push('  return true;', '}');
    return lines;
  }

  // ---- whole message ----

  interfaces(): string[] {
    const lines: string[] = [];
    for (const s of this.msg.structs) {
      lines.push(`export interface ${s.tsName} {`);
      for (const f of s.fields) {
        const notes: string[] = [];
        if (f.raw.versions !== '0+') notes.push(`v${f.raw.versions}`);
        if (f.raw.nullableVersions) notes.push(`nullable v${f.raw.nullableVersions}`);
        if (f.tag !== undefined) notes.push(`tag ${f.tag}`);
        if (f.raw.default !== undefined) notes.push(`default ${f.raw.default === '' ? "''" : String(f.raw.default)}`);
        const note = notes.length > 0 ? ` // ${notes.join(', ')}` : '';
        lines.push(`  ${f.prop}: ${fieldTs(f)};${note}`);
      }
      lines.push('}', '');
    }
    return lines;
  }

  /** Codec functions of every reachable struct, root first. */
  codecs(): string[] {
    const lines: string[] = [];
    for (const s of this.msg.structs) {
      if (s.reach.length === 0) continue;
      lines.push(...this.decoder(s), '', ...this.encoder(s), '');
    }
    return lines;
  }

  /** default/isDefault helpers referenced by the codecs (call after codecs()). */
  helpers(): string[] {
    const lines: string[] = [];
    const doneD = new Set<Struct>();
    const doneI = new Set<Struct>();
    for (;;) {
      const d = [...this.needDefault].find((s) => !doneD.has(s));
      if (d) {
        doneD.add(d);
        lines.push(...this.defaultFn(d), '');
        continue;
      }
      const i = [...this.needIsDefault].find((s) => !doneI.has(s));
      if (i) {
        doneI.add(i);
        lines.push(...this.isDefaultFn(i), '');
        continue;
      }
      break;
    }
    return lines;
  }

  schema(): string[] {
    const raw = this.msg.raw;
    const structOf = (f: Field): Struct | null =>
      f.kind.k === 'struct' ? f.kind.s : f.kind.k === 'array' && f.kind.elem.k === 'struct' ? f.kind.elem.s : null;
    const emitFields = (fields: Field[], indent: string): string[] => {
      const out: string[] = [];
      for (const f of fields) {
        const r: RawField = f.raw;
        const parts = [`name: ${str(f.name)}`, `prop: ${str(f.prop)}`, `type: ${str(r.type)}`, `versions: ${str(r.versions)}`];
        if (r.nullableVersions !== undefined) parts.push(`nullableVersions: ${str(r.nullableVersions)}`);
        if (r.taggedVersions !== undefined) parts.push(`taggedVersions: ${str(r.taggedVersions)}`);
        if (r.tag !== undefined) parts.push(`tag: ${r.tag}`);
        if (r.flexibleVersions !== undefined) parts.push(`flexibleVersions: ${str(r.flexibleVersions)}`);
        if (r.default !== undefined)
          parts.push(`default: ${typeof r.default === 'string' ? str(r.default) : String(r.default)}`);
        const s = structOf(f);
        if (s === null) {
          out.push(`${indent}{ ${parts.join(', ')} },`);
        } else {
          out.push(`${indent}{ ${parts.join(', ')}, fields: [`, ...emitFields(s.fields, indent + '  '), `${indent}] },`);
        }
      }
      return out;
    };
    const head = [`name: ${str(raw.name)}`, `type: ${str(raw.type)}`];
    if (raw.apiKey !== undefined) head.push(`apiKey: ${raw.apiKey}`);
    head.push(`validVersions: ${str(raw.validVersions)}`, `flexibleVersions: ${str(raw.flexibleVersions)}`);
    if (raw.latestVersionUnstable === true) head.push('latestVersionUnstable: true');
    return [
      `export const ${raw.name}Schema: ${this.rt('MessageSchema')} = {`,
      `  ${head.join(', ')},`,
      '  fields: [',
      ...emitFields(this.msg.root.fields, '    '),
      '  ],',
      '};',
    ];
  }
}
