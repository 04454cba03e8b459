// The main language of a document: measured on 70 short texts (20 Japanese, 20 English, 20 mixed
// Japanese/English whose main language is known, 10 in other languages: test/fixtures/language-samples.json,
// written for this test), and on long mixed documents, which get the language most of their text is in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { detectLanguage, literalToJson, ngramView, readNgrams } from '../src/stages/language.ts';

type Sample = { group: string; lang: string; text: string };
const samples = JSON.parse(readFileSync(new URL('./fixtures/language-samples.json', import.meta.url), 'utf8')) as Sample[];

test('short Japanese, English and mixed texts: at least 95 % right, and no group below 90 %', (t) => {
  const byGroup = new Map<string, { ok: number; n: number; wrong: string[] }>();
  for (const s of samples) {
    const g = byGroup.get(s.group) ?? { ok: 0, n: 0, wrong: [] };
    byGroup.set(s.group, g);
    g.n++;
    const got = detectLanguage(s.text);
    if (got === s.lang) g.ok++;
    else g.wrong.push(`${s.lang} -> ${got ?? 'none'}: ${s.text}`);
  }
  const total = [...byGroup.values()].reduce((a, g) => ({ ok: a.ok + g.ok, n: a.n + g.n }), { ok: 0, n: 0 });
  t.diagnostic([...byGroup].map(([k, g]) => `${k} ${g.ok}/${g.n}${g.wrong.length ? ` (${g.wrong.join('; ')})` : ''}`).join('\n'));
  assert.equal(samples.length, 70);
  assert.ok(total.ok / total.n >= 0.95, `${total.ok}/${total.n}`);
  for (const [k, g] of byGroup) assert.ok(g.ok / g.n >= 0.9, `${k}: ${g.ok}/${g.n}`);
});

test('a mixed document gets its main language', () => {
  const ja = '当社は本年度の売上目標を達成するため、営業体制を見直します。各部門は来月末までに計画を提出してください。';
  const en = 'The meeting notes below summarise the decisions taken by the board and the actions assigned to each team.';
  // Mostly Japanese with an English paragraph, and the reverse.
  assert.equal(detectLanguage([ja, ja, en, ja, ja, ja].join('\n')), 'ja');
  assert.equal(detectLanguage([en, en, ja, en, en, en].join('\n')), 'en');
  // A long document: the samples are spread over all of it, so a long English appendix after a Japanese body still loses.
  assert.equal(detectLanguage(`${ja.repeat(60)}\n${en.repeat(20)}`), 'ja');
});

test('no language is claimed for text without enough letters', () => {
  assert.equal(detectLanguage(''), undefined);
  assert.equal(detectLanguage('12,345 67.8 %'), undefined);
  assert.equal(detectLanguage('A1'), undefined);
});

test("eld's database read as data is exactly the package's own object", async () => {
  const entry = import.meta.resolve('eld/extrasmall');
  const { ngramsData } = (await import(new URL('../ngrams/extrasmall.js', entry).href)) as { ngramsData: unknown };
  const source = readFileSync(new URL('../ngrams/extrasmall.js', entry), 'utf8');
  const body = source.slice(source.indexOf('=', source.indexOf('export const ngramsData')) + 1, source.lastIndexOf('}') + 1);
  assert.equal(JSON.stringify(JSON.parse(literalToJson(body))), JSON.stringify(ngramsData));
  assert.equal(literalToJson(`{a:1,'b\\'c':{7:'x"y'},"d":[true, 2.5]}`), '{"a":1,"b\'c":{"7":"x\\"y"},"d":[true, 2.5]}');
});

test("eld's database kept compact holds exactly the package's n-grams and header", async () => {
  const entry = import.meta.resolve('eld/extrasmall');
  const { ngramsData } = (await import(new URL('../ngrams/extrasmall.js', entry).href)) as { ngramsData: { ngrams: Record<string, Record<string, number>> } & Record<string, unknown> };
  const db = readNgrams(readFileSync(new URL('../ngrams/extrasmall.js', entry), 'utf8'));
  const { ngrams, ...header } = ngramsData;
  assert.deepEqual(db.header, header);
  const keys = Object.keys(ngrams);
  assert.equal(db.index.size, keys.length);
  const view = ngramView(db);
  for (const k of keys) assert.deepEqual(view[k], ngrams[k], `n-gram ${JSON.stringify(k)}`);
  assert.equal(view['not an n-gram'], undefined);
  // Compact: typed arrays, no object per n-gram.
  assert.ok(db.pairs.byteLength + db.offsets.byteLength < 1024 * 1024, `${db.pairs.byteLength + db.offsets.byteLength} bytes`);
});

test('a database the reader does not understand is refused, naming where', () => {
  const ok = "export const ngramsData = {type:'T',languages:{0:'en',1:'ja'},isSubset:false,ngrams:{'ab':{0:5,1:7},cd:{1:9},'e\\'f':{0:1}}};";
  const db = readNgrams(ok);
  assert.deepEqual(db.header, { type: 'T', languages: { 0: 'en', 1: 'ja' }, isSubset: false });
  assert.deepEqual(ngramView(db).ab, { 0: 5, 1: 7 });
  assert.deepEqual(ngramView(db).cd, { 1: 9 });
  assert.deepEqual(ngramView(db)["e'f"], { 0: 1 });
  assert.throws(() => readNgrams(ok.replace('{0:5,', '{0:500,')), /over 255 at offset \d+/);
  assert.throws(() => readNgrams(ok.replace('ngrams:', 'grams:')), /no ngrams object/);
  assert.throws(() => readNgrams(ok.replace("cd:{1:9}", "cd:[1,9]")), /an n-gram expected/);
});
