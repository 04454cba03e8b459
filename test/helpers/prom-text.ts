// Reads Prometheus text exposition the way a scraper sees it, for tests that check what /metrics says.

export type Samples = {
  /** Value of one series; labels must match exactly (order does not matter). undefined if absent. */
  get(name: string, labels?: Record<string, string>): number | undefined;
  /** Every series of one name, with its labels. */
  series(name: string): { labels: Record<string, string>; value: number }[];
  /** Metric family names from the # TYPE lines. */
  families(): Map<string, string>;
};

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseValue(v: string): number {
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

function key(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

export function parsePromText(text: string): Samples {
  const values = new Map<string, number>();
  const byName = new Map<string, { labels: Record<string, string>; value: number }[]>();
  const types = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)/.exec(line);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = unescape(l[2]);
    const value = parseValue(m[3]);
    values.set(key(m[1], labels), value);
    let list = byName.get(m[1]);
    if (!list) byName.set(m[1], (list = []));
    list.push({ labels, value });
  }
  return {
    get: (name, labels = {}) => values.get(key(name, labels)),
    series: (name) => byName.get(name) ?? [],
    families: () => types,
  };
}
