// HTML building blocks of the console: escaping (every shown value goes through esc), the page
// layout with its navigation, and how keys/values/headers are shown. No external assets: the
// style and the few scripts are inline, so the console works offline.

import type { Shown } from './data.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A path segment (topic and group names may hold '/', '?', '#'...). */
export const seg = (s: string): string => encodeURIComponent(s);

/** A trusted HTML fragment (built from esc'd parts). */
export class Html {
  constructor(readonly s: string) {}
  toString(): string {
    return this.s;
  }
}

/** Tagged template: interpolated values are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += frag(values[i]) + strings[i + 1]!;
  return new Html(out);
}

function frag(v: unknown): string {
  if (v instanceof Html) return v.s;
  if (Array.isArray(v)) return v.map(frag).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

const STYLE = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0b5cad;--warn:#9a3412;--ok:#166534}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#10243e;color:#fff;padding:.5rem 1rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}
header .brand{font-weight:700;text-decoration:none}
nav ul{list-style:none;margin:0;padding:0;display:flex;gap:1rem}
nav a[aria-current=page]{text-decoration:underline;font-weight:600}
main{padding:1rem;max-width:1200px}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px solid #f59e0b;outline-offset:1px}
table{border-collapse:collapse;margin:.5rem 0 1rem;min-width:40%}
th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
pre{margin:0;white-space:pre-wrap;word-break:break-all;max-height:20rem;overflow:auto;font-size:13px}
.muted{color:var(--muted)}
.notice{border-left:4px solid var(--ok);background:#f0fdf4;padding:.5rem .75rem}
.error{border-left:4px solid var(--warn);background:#fff7ed;padding:.5rem .75rem}
form.box,fieldset{border:1px solid var(--line);padding:.75rem;margin:.5rem 0 1rem}
form.inline{display:inline;margin:0}
label{display:inline-block;margin:.25rem .75rem .25rem 0}
input,select,textarea,button{font:inherit}
button{padding:.25rem .75rem;cursor:pointer}
button.danger{background:#b91c1c;color:#fff;border:1px solid #7f1d1d}
.kind{font-size:11px;text-transform:uppercase;color:var(--muted)}
.figures{display:flex;gap:1rem;flex-wrap:wrap;padding:0;list-style:none}
.figures li{border:1px solid var(--line);padding:.5rem 1rem;min-width:9rem}
.figures .v{font-size:1.4rem;font-weight:600;display:block}
`;

export type Section = 'overview' | 'topics' | 'groups';

export function layout(title: string, section: Section | null, body: Html, opts: { notice?: string | null; error?: string | null } = {}): string {
  const link = (href: string, label: string, s: Section): Html => html`<li><a href="${href}"${section === s ? new Html(' aria-current="page"') : ''}>${label}</a></li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Brook console</title>
<link rel="icon" href="data:,">
<style>${new Html(STYLE)}</style>
</head>
<body>
<header>
<a class="brand" href="/console">Brook console</a>
<nav aria-label="Main">
<ul>${[link('/console', 'Overview', 'overview'), link('/console/topics', 'Topics', 'topics'), link('/console/groups', 'Consumer groups', 'groups')]}</ul>
</nav>
</header>
<main id="main">
${opts.notice ? html`<p class="notice" role="status">${opts.notice}</p>` : ''}
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
${body}
</main>
</body>
</html>
`.s;
}

/** A key, value or header as shown in a table cell. */
export function shown(v: Shown): Html {
  if (v.kind === 'null') return html`<span class="muted">null</span>`;
  const note = v.truncated ? html` <span class="muted">(first ${v.kind === 'hex' ? 'bytes' : 'part'} of ${v.size} bytes)</span>` : '';
  return html`<span class="kind">${v.kind}</span>${note}<pre>${v.text}</pre>`;
}

export function fmtBytes(n: bigint | number | null): string {
  if (n === null) return '-';
  const x = Number(n);
  if (x < 1024) return `${x} B`;
  if (x < 1024 * 1024) return `${(x / 1024).toFixed(1)} KiB`;
  if (x < 1024 ** 3) return `${(x / 1024 / 1024).toFixed(1)} MiB`;
  return `${(x / 1024 ** 3).toFixed(2)} GiB`;
}

export function fmtTime(ms: bigint): string {
  const n = Number(ms);
  if (n < 0 || !Number.isFinite(n)) return '-';
  try {
    return new Date(n).toISOString();
  } catch {
    return String(ms);
  }
}

/** Previous/next links of a paged list. */
export function pager(base: string, params: URLSearchParams, p: { total: number; offset: number; limit: number }, what: string): Html {
  const at = (offset: number): string => {
    const q = new URLSearchParams(params);
    q.set('offset', String(offset));
    q.set('limit', String(p.limit));
    return `${base}?${q.toString()}`;
  };
  const last = Math.min(p.offset + p.limit, p.total);
  return html`<nav aria-label="Pages of ${what}"><p>${p.total === 0 ? `No ${what}.` : `${what[0]!.toUpperCase()}${what.slice(1)} ${p.offset + 1}–${last} of ${p.total}.`}
${p.offset > 0 ? html` <a href="${at(Math.max(0, p.offset - p.limit))}" rel="prev">Previous page</a>` : ''}
${last < p.total ? html` <a href="${at(p.offset + p.limit)}" rel="next">Next page</a>` : ''}</p></nav>`;
}
