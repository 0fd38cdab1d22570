// Normalised model of one message: its structs, their fields, and for every field the exact set
// of (stable) versions in which it is present, tagged, nullable or compact.

import { type RawField, type RawMessage, parseRange, versionsIn } from './spec.js';

export type Prim =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

const PRIMS = new Set<string>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'records',
  'uuid',
]);

export type Elem = { k: 'prim'; t: Prim } | { k: 'struct'; s: Struct };
export type Kind = Elem | { k: 'array'; elem: Elem };

/** Default value of a field, normalised. */
export type Default =
  | { k: 'null' }
  | { k: 'number'; v: number }
  | { k: 'bigint'; v: bigint }
  | { k: 'bool'; v: boolean }
  | { k: 'string'; v: string }
  | { k: 'uuid' }
  | { k: 'bytes' }
  | { k: 'array' }
  | { k: 'struct'; s: Struct };

export interface Field {
  raw: RawField;
  name: string;
  prop: string;
  kind: Kind;
  /** Versions (of the message universe) in which the field exists. */
  all: number[];
  /** Versions in which it is written positionally. */
  positional: Set<number>;
  /** Versions in which it is a tagged field (always flexible versions). */
  tagged: Set<number>;
  tag: number | undefined;
  nullable: Set<number>;
  /** Nullable in some version of the spec, or null by default: the TS type includes `| null`. */
  nullableType: boolean;
  /** Field-level `flexibleVersions: "none"` (RequestHeader.ClientId): never compact. */
  neverCompact: boolean;
  dflt: Default;
}

export interface Struct {
  specName: string;
  tsName: string;
  fields: Field[];
  /** Versions in which this struct can occur on the wire (sorted). */
  reach: number[];
}

export interface Message {
  raw: RawMessage;
  name: string;
  /** The versions code is generated for (sorted). */
  universe: number[];
  flexible: Set<number>;
  root: Struct;
  /** All structs, root first, in declaration order. */
  structs: Struct[];
}

export function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function kebab(name: string): string {
  return name
    .replace(/KRaft/g, 'Kraft')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

export function range(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi; v++) out.push(v);
  return out;
}

/** The stable versions of a message: validVersions, minus the top one when it is unstable. */
export function stableVersions(raw: RawMessage): number[] {
  const r = parseRange(raw.validVersions);
  if (r === null) return [];
  if (!Number.isFinite(r.hi)) throw new Error(`${raw.file}: open validVersions`);
  const hi = raw.latestVersionUnstable === true ? r.hi - 1 : r.hi;
  return range(r.lo, hi);
}

function parseDefault(f: RawField, kind: Kind, file: string): Default {
  const d = f.default;
  const isNull = d === 'null';
  if (kind.k === 'array') return isNull ? { k: 'null' } : { k: 'array' };
  if (kind.k === 'struct') return isNull ? { k: 'null' } : { k: 'struct', s: kind.s };
  switch (kind.t) {
    case 'bool':
      return { k: 'bool', v: d === true || d === 'true' };
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64': {
      if (d === undefined) return { k: 'number', v: 0 };
      const v = typeof d === 'number' ? d : Number(d);
      if (typeof d === 'boolean' || Number.isNaN(v)) throw new Error(`${file}: bad default ${String(d)} for ${f.name}`);
      return { k: 'number', v };
    }
    case 'int64':
      if (d === undefined) return { k: 'bigint', v: 0n };
      return { k: 'bigint', v: BigInt(d as string | number) };
    case 'string':
      if (isNull) return { k: 'null' };
      return { k: 'string', v: d === undefined ? '' : String(d) };
    case 'uuid':
      return { k: 'uuid' };
    case 'bytes':
      return isNull ? { k: 'null' } : { k: 'bytes' };
    case 'records':
      return { k: 'null' };
  }
}

/** Builds the model of one message for the given universe of versions. */
export function buildMessage(raw: RawMessage, universe: number[]): Message {
  const flexible = new Set(versionsIn(raw.flexibleVersions, universe));
  const common = new Map<string, Struct>();
  const structs: Struct[] = [];
  const pending: Array<() => void> = [];
  const seen = new Set<string>();

  // Struct names are prefixed with the message name, unless the spec already did.
  const structTsName = (specName: string): string =>
    specName.startsWith(raw.name) && specName !== raw.name ? specName : raw.name + specName;

  const makeStruct = (specName: string, rawFields: RawField[], isRoot: boolean): Struct => {
    const tsName = isRoot ? raw.name : structTsName(specName);
    if (seen.has(tsName)) throw new Error(`${raw.file}: struct ${specName} defined twice`);
    seen.add(tsName);
    const s: Struct = { specName, tsName, fields: [], reach: [] };
    structs.push(s);
    s.fields = rawFields.map((f) => makeField(f));
    return s;
  };

  const resolveStruct = (typeName: string, f: RawField): Struct => {
    if (f.fields) return makeStruct(typeName, f.fields, false);
    const c = common.get(typeName);
    if (!c) throw new Error(`${raw.file}: unknown struct type ${typeName} for field ${f.name}`);
    return c;
  };

  const makeField = (f: RawField): Field => {
    const arr = /^\[\](.+)$/.exec(f.type);
    const base = arr ? arr[1]! : f.type;
    let elem: Elem;
    if (PRIMS.has(base)) elem = { k: 'prim', t: base as Prim };
    else if (/^[A-Z]\w*$/.test(base)) elem = { k: 'struct', s: resolveStruct(base, f) };
    else throw new Error(`${raw.file}: unknown type ${f.type}`);
    if (arr && elem.k === 'prim' && elem.t === 'records') throw new Error(`${raw.file}: array of records`);
    const kind: Kind = arr ? { k: 'array', elem } : elem;
    const all = versionsIn(f.versions, universe);
    const taggedRange = new Set(versionsIn(f.taggedVersions, all));
    if (f.taggedVersions !== undefined && f.tag === undefined) throw new Error(`${raw.file}: ${f.name} tagged without tag`);
    const tagged = new Set(all.filter((v) => taggedRange.has(v) && flexible.has(v)));
    const positional = new Set(all.filter((v) => !taggedRange.has(v)));
    const dflt = parseDefault(f, kind, raw.file);
    const nullableType =
      parseRange(f.nullableVersions) !== null || dflt.k === 'null' || (kind.k === 'prim' && kind.t === 'records');
    return {
      raw: f,
      name: f.name,
      prop: lowerCamel(f.name),
      kind,
      all,
      positional,
      tagged,
      tag: f.tag,
      nullable: new Set(versionsIn(f.nullableVersions, all)),
      nullableType,
      neverCompact: f.flexibleVersions === 'none',
      dflt,
    };
  };

  // Common structs first (they are referenced by name), but listed after the message's own.
  const commonStructs: Struct[] = [];
  for (const cs of raw.commonStructs ?? []) {
    const s: Struct = { specName: cs.name, tsName: structTsName(cs.name), fields: [], reach: [] };
    if (seen.has(s.tsName)) throw new Error(`${raw.file}: duplicate common struct ${cs.name}`);
    seen.add(s.tsName);
    common.set(cs.name, s);
    commonStructs.push(s);
    pending.push(() => {
      s.fields = cs.fields.map((f) => makeField(f));
    });
  }
  const root = makeStruct(raw.name, raw.fields, true);
  for (const cs of commonStructs) {
    structs.push(cs);
  }
  // Common structs' own fields may declare inline structs; build them after the message's.
  for (const p of pending) p();

  // Reachability: the root is reachable in the whole universe; a struct in the versions in which
  // a field that holds it exists and its owner is reachable.
  root.reach = [...universe];
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of structs) {
      const reach = new Set(s.reach);
      for (const f of s.fields) {
        const target = f.kind.k === 'array' ? f.kind.elem : f.kind;
        if (target.k !== 'struct') continue;
        const t = target.s;
        const tr = new Set(t.reach);
        for (const v of f.all) {
          if (reach.has(v) && !tr.has(v)) {
            tr.add(v);
            changed = true;
          }
        }
        t.reach = [...tr].sort((a, b) => a - b);
      }
    }
  }

  return { raw, name: raw.name, universe, flexible, root, structs };
}
