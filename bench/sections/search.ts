// Search latency: a SQLite index of generated documents (mixed Japanese and English, a realistic
// spread of statuses, types, folders and dates), bulk-inserted through the index's own write path,
// then a fixed mix of queries through the query model — the same call `serve` and `search` make
// (total, facets, one page of 20 hits with snippets). p50/p95 per class and overall.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteIndex } from '../../src/adapters/sqlite-index.ts';
import { SqliteSearch } from '../../src/adapters/sqlite-search.ts';
import { buildQuery, type QueryInput } from '../../src/search/query.ts';
import type { DocStatus, IndexDocument } from '../../src/types.ts';
import type { BenchContext } from '../harness/context.ts';
import { round } from '../harness/context.ts';
import { prng } from '../../test/helpers/chaos.ts';

export type SearchLatency = {
  queries: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** CPU time of the bench process per query: what a query costs on an idle core, whatever else the machine runs. */
  cpuP50Ms: number;
  cpuP95Ms: number;
};

export type SearchBenchResult = {
  documents: number;
  /** Mean characters of text per document. */
  textChars: number;
  buildSeconds: number;
  indexMb: number;
  overall: SearchLatency;
  byClass: Record<string, SearchLatency>;
};

// Vocabularies with a Zipf distribution (a word's frequency falls with its rank), as in real text: a
// few words are in most documents, most words in few. Real words first, generated ones after.
const KANJI = '会議請求書見積契約予算売上報告検索社内顧客納品発注経理人事設計仕様品質監査東京大阪営業開発計画資料確認提出承認期限合計金額株式担当部長課新製説明変更対応案件価格手数料在庫出荷配送注文返品保守運用障害調査分析結果方針目標実績年度月日週時間場所住所電話番号名前氏代表取締役員総務法務広報技術研究情報管理安全衛生教育研修採用給与勤怠休暇';
const EN_REAL = ['invoice', 'budget', 'meeting', 'minutes', 'contract', 'report', 'quarterly', 'sales', 'review', 'design', 'specification', 'customer', 'delivery',
  'order', 'audit', 'quality', 'payroll', 'project', 'schedule', 'approval', 'deadline', 'total', 'amount', 'revenue', 'forecast', 'policy', 'security', 'release', 'summary', 'draft'];
const SYLLABLES = ['ka', 'lo', 'mir', 'ten', 'sa', 'ru', 'vek', 'on', 'tra', 'pel', 'ix', 'dor', 'fa', 'gun', 'hal', 'zi', 'bre', 'mon', 'cas', 'tel'];
const JOINERS = ['の', 'を', 'に', 'は', 'と', 'で', '、', '。'];
const TYPES = ['application/pdf', 'application/pdf', 'application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'text/plain', 'text/markdown', 'image/tiff'];

function vocabularies(): { ja: string[]; en: string[] } {
  const rand = prng(1);
  const kanji = [...KANJI];
  const ja = new Set<string>(['請求書', '見積書', '会議', '議事録', '契約書', '予算', '売上', '報告書', '検索', '顧客', '株式会社', '担当者']);
  while (ja.size < 3000) ja.add(Array.from({ length: rand() < 0.7 ? 2 : 3 }, () => kanji[Math.floor(rand() * kanji.length)]).join(''));
  const en = new Set<string>(EN_REAL);
  while (en.size < 3000) en.add(Array.from({ length: 2 + Math.floor(rand() * 2) }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join(''));
  return { ja: [...ja], en: [...en] };
}

const VOCAB = vocabularies();

/**
 * Draws ranks 0..n-1 with probability proportional to 1/(rank+51): Zipf's law for content words, whose
 * ranks start after the ~50 function words (the joiners stand in for those). The most common word is
 * then in about a sixth of the documents, as a word like "invoice" is in a company's files.
 */
function zipf(n: number, rand: () => number): () => number {
  const cdf: number[] = [];
  let sum = 0;
  for (let r = 0; r < n; r++) cdf.push((sum += 1 / (r + 51)));
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export function generate(n: number, rand: () => number): IndexDocument[] {
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const jaRank = zipf(VOCAB.ja.length, rand);
  const enRank = zipf(VOCAB.en.length, rand);
  const docs: IndexDocument[] = [];
  const base = Date.parse('2025-01-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    const words = 30 + Math.floor(rand() * 30);
    for (let w = 0; w < words; w++) parts.push(rand() < 0.6 ? `${VOCAB.ja[jaRank()]}${pick(JOINERS)}` : ` ${VOCAB.en[enRank()]} `);
    const text = parts.join('');
    const r = rand();
    const status: DocStatus = r < 0.94 ? 'ok' : r < 0.97 ? 'partial' : r < 0.99 ? 'failed' : 'too_large';
    const folder = `s3://bench-bucket/dept-${Math.floor(rand() * 20)}/${2025 + Math.floor(rand() * 2)}/`;
    const name = `${rand() < 0.5 ? VOCAB.ja[jaRank()] : VOCAB.en[enRank()]}-${i}.${pick(['pdf', 'docx', 'txt', 'md', 'tif'])}`;
    docs.push({
      id: `doc-${String(i).padStart(6, '0')}`, source: `${folder}${name}`, bucket: 'bench-bucket', key: `${folder.slice('s3://bench-bucket/'.length)}${name}`, name,
      contentType: pick(TYPES), size: text.length * 3, status, text: status === 'failed' ? '' : text, truncated: false, pages: 1, ocrPages: 0,
      lastModified: new Date(base + Math.floor(rand() * 730 * 86_400_000)).toISOString(), indexedAt: '2026-12-01T00:00:00.000Z',
    });
  }
  return docs;
}

type Case = { cls: string; input: QueryInput };

function queries(count: number, rand: () => number): Case[] {
  // People search for words that are there: drawn by the same Zipf law from the 1,000 most common.
  const jaRank = zipf(1000, rand);
  const enRank = zipf(1000, rand);
  const ja = (len: (w: string) => boolean) => {
    for (;;) {
      const w = VOCAB.ja[jaRank()]!;
      if (len(w)) return w;
    }
  };
  const en = () => VOCAB.en[enRank()]!;
  const kanji = [...KANJI];
  const makers: Array<[string, number, () => QueryInput]> = [
    ['English word', 25, () => ({ q: en() })],
    ['two English words', 15, () => ({ q: `${en()} ${en()}` })],
    ['English phrase', 10, () => ({ q: `"${en()} ${en()}"` })],
    ['Japanese 1 char', 15, () => ({ q: kanji[Math.floor(rand() * kanji.length)]! })],
    ['Japanese 2 chars', 15, () => ({ q: ja((w) => w.length === 2) })],
    ['Japanese 3+ chars', 10, () => ({ q: ja((w) => w.length >= 3) })],
    ['word + filters, by date', 10, () => ({ q: rand() < 0.5 ? en() : ja((w) => w.length >= 3), status: ['ok'], type: ['application/pdf'], folder: `s3://bench-bucket/dept-${Math.floor(rand() * 20)}/`, sort: 'date' })],
  ];
  const cases: Case[] = [];
  for (const [cls, share, make] of makers) for (let i = 0; i < Math.round((count * share) / 100); i++) cases.push({ cls, input: make() });
  // Interleave the classes, so a slow spell on a shared machine does not land on one class only.
  return cases.sort(() => rand() - 0.5);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function latency(samples: Array<{ ms: number; cpuMs: number }>): SearchLatency {
  const s = samples.map((x) => x.ms).sort((a, b) => a - b);
  const c = samples.map((x) => x.cpuMs).sort((a, b) => a - b);
  return {
    queries: s.length, p50Ms: round(percentile(s, 50), 1), p95Ms: round(percentile(s, 95), 1), maxMs: round(s.at(-1) ?? 0, 1),
    cpuP50Ms: round(percentile(c, 50), 1), cpuP95Ms: round(percentile(c, 95), 1),
  };
}

export async function runSearchLatency(ctx: BenchContext): Promise<SearchBenchResult> {
  const { documents, queries: queryCount } = ctx.opts.search;
  const rand = prng(14);
  const path = join(ctx.tmpRoot, 'search-bench.db');
  const started = performance.now();
  const index = new SqliteIndex(path);
  await index.init();
  let chars = 0;
  // Generated and written in slices of 5,000: one transaction each, memory stays flat.
  for (let at = 0; at < documents; at += 5000) {
    const batch = generate(Math.min(5000, documents - at), rand).map((d, k) => ({ ...d, id: `doc-${String(at + k).padStart(6, '0')}` }));
    for (const d of batch) chars += d.text.length;
    await index.write(batch.map((doc) => ({ kind: 'upsert' as const, doc })));
  }
  await index.close();
  const buildSeconds = round((performance.now() - started) / 1000, 1);
  ctx.progress(`search: ${documents} documents indexed in ${buildSeconds} s`);

  const search = new SqliteSearch(path);
  try {
    const cases = queries(queryCount, rand);
    for (const c of cases.slice(0, 20)) await search.search(buildQuery(c.input)); // warm the page cache
    const byClass: Record<string, Array<{ ms: number; cpuMs: number }>> = {};
    const all: Array<{ ms: number; cpuMs: number }> = [];
    for (const c of cases) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await search.search(buildQuery(c.input));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const sample = { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
      all.push(sample);
      (byClass[c.cls] ??= []).push(sample);
    }
    const result: SearchBenchResult = {
      documents, textChars: Math.round(chars / documents), buildSeconds, indexMb: round(statSync(path).size / 2 ** 20, 1),
      overall: latency(all), byClass: Object.fromEntries(Object.entries(byClass).map(([k, v]) => [k, latency(v)])),
    };
    ctx.progress(`search: p50 ${result.overall.p50Ms} ms, p95 ${result.overall.p95Ms} ms (CPU ${result.overall.cpuP50Ms} / ${result.overall.cpuP95Ms} ms) over ${all.length} queries`);
    return result;
  } finally {
    await search.close();
  }
}
