// Output helpers for the client commands: aligned tables for people, JSON for scripts, and a
// progress line on stderr that only appears on a terminal.

export type Cell = string | number | bigint | boolean | null | undefined;

export interface Out {
  write(s: string): unknown;
}

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return String(c);
}

/** Writes rows under upper-case headers, columns separated by two spaces, no trailing blanks. */
export function printTable(out: Out, headers: string[], rows: Cell[][]): void {
  const text = rows.map((r) => r.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  out.write(line(headers) + '\n');
  for (const r of text) out.write(line(r) + '\n');
}

/** JSON.stringify that writes bigints as numbers (offsets and timestamps stay far below 2^53). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, k: string, v: unknown) {
      if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      // Buffer.toJSON has already run on v: look at the holder's own value.
      const raw = this[k];
      if (Buffer.isBuffer(raw)) return raw.toString('base64');
      return v;
    },
    indent,
  );
}

export function printJson(out: Out, value: unknown): void {
  out.write(toJson(value, 2) + '\n');
}

/** A one-line progress display, redrawn at most every `intervalMs`; silent unless enabled. */
export class Progress {
  private last = 0;
  private shown = false;

  constructor(
    private readonly stream: Out & { isTTY?: boolean },
    readonly enabled: boolean,
    private readonly intervalMs = 200,
  ) {}

  /** Enabled when the stream is a terminal (and the caller does not object). */
  static for(stream: Out & { isTTY?: boolean }, wanted = true): Progress {
    return new Progress(stream, wanted && stream.isTTY === true);
  }

  update(text: string | (() => string), force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    this.stream.write(`\r\x1b[2K${typeof text === 'function' ? text() : text}`);
    this.shown = true;
  }

  /** Clears the line. */
  done(): void {
    if (this.enabled && this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
