// The query model's parsing and validation, cursors, and markup-safe snippets — the parts both
// backends share (test/search-api.test.ts runs the same cases against each index).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildQuery, decodeCursor, encodeCursor, parseTerms, queryInputFromUrl } from '../src/search/query.ts';
import { MARK_END, MARK_START, highlightMarked, highlightWindow, snippetToText } from '../src/search/snippet.ts';
import { QueryError } from '../src/errors.ts';

test('terms: words split at any space (the ideographic one too); quotes make a phrase', () => {
  assert.deepEqual(parseTerms('請求書　2026年 "quarterly  report" x'), [
    { value: '請求書', phrase: false }, { value: '2026年', phrase: false }, { value: 'quarterly report', phrase: true }, { value: 'x', phrase: false },
  ]);
  assert.deepEqual(parseTerms('"unclosed phrase'), [{ value: 'unclosed phrase', phrase: true }]);
  assert.deepEqual(parseTerms('""  " "'), []);
});

test('defaults: relevance with words, date without; filters from repeated or comma-separated parameters', () => {
  assert.equal(buildQuery({ q: 'invoice' }).sort, 'relevance');
  assert.equal(buildQuery({}).sort, 'date');
  assert.equal(buildQuery({ sort: 'relevance' }).sort, 'date', 'nothing to rank by without words');
  assert.equal(buildQuery({}).limit, 20);
  const q = buildQuery(queryInputFromUrl(new URLSearchParams('q=x&status=ok,failed&status=partial&type=application/pdf&from=2026-01-31&to=2026-02-01')));
  assert.deepEqual(q.keyword, { status: ['ok', 'failed', 'partial'], contentType: ['application/pdf'], language: [] });
  assert.equal(q.modifiedFrom, '2026-01-31T00:00:00.000Z');
  assert.equal(q.modifiedTo, '2026-02-01T23:59:59.999Z', 'a date as the upper bound takes the whole day');
  assert.equal(buildQuery({ from: '2026-01-31T09:00:00+09:00' }).modifiedFrom, '2026-01-31T00:00:00.000Z');
});

test('every bad value is a QueryError naming the parameter and the value', () => {
  const cases: Array<[Parameters<typeof buildQuery>[0], RegExp]> = [
    [{ status: ['done'] }, /^status: .*"done"/],
    [{ type: ['<script>'] }, /^type: /],
    [{ limit: '0' }, /^limit: .*"0"/],
    [{ limit: 2.5 }, /^limit: /],
    [{ sort: 'name' }, /^sort: .*"name"/],
    [{ from: '31/01/2026' }, /^from: /],
    [{ to: '2026-13-01' }, /^to: /],
    [{ q: 'x'.repeat(257) }, /^q: /],
    [{ status: Array.from({ length: 21 }, () => 'ok') }, /^status: has 21 values/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => buildQuery(input), (e: unknown) => e instanceof QueryError && message.test(e.message) && e.retryable === false, JSON.stringify(input));
  }
});

test('cursors belong to one search and one backend', () => {
  const q = buildQuery({ q: 'report', limit: 5 });
  const cursor = encodeCursor(q, 'sqlite', [1.5, '2026-01-01', 'id-1']);
  assert.deepEqual(decodeCursor({ ...q, cursor }, 'sqlite'), [1.5, '2026-01-01', 'id-1']);
  assert.deepEqual(decodeCursor({ ...buildQuery({ q: 'report', limit: 50 }), cursor }, 'sqlite'), [1.5, '2026-01-01', 'id-1'], 'the page size may change');
  assert.throws(() => decodeCursor({ ...buildQuery({ q: 'budget' }), cursor }, 'sqlite'), /different search/);
  assert.throws(() => decodeCursor({ ...q, cursor }, 'opensearch'), /different search/);
  assert.throws(() => decodeCursor({ ...q, cursor: 'not-base64-json' }, 'sqlite'), /cursor/);
});

test('snippets: document text is escaped, matches are the only markup, case-insensitively', () => {
  const terms = parseTerms('budget 予算');
  const html = highlightWindow('<b>Budget</b> & 予算 "x" <script>alert(1)</script>\n\n budget', terms, true, false);
  assert.equal(html, '…&lt;b&gt;<mark>Budget</mark>&lt;/b&gt; &amp; <mark>予算</mark> &quot;x&quot; &lt;script&gt;alert(1)&lt;/script&gt; <mark>budget</mark>');
  assert.equal(snippetToText(html), '…<b>[Budget]</b> & [予算] "x" <script>alert(1)</script> [budget]');
  // Private-use marks inside a document cannot forge a highlight.
  assert.equal(highlightWindow(`a${MARK_START}b${MARK_END}c`, [], false, false), 'abc');
  assert.equal(highlightMarked(`<i>${MARK_START}会議${MARK_END}</i> ${MARK_START}x`, false, true), '&lt;i&gt;<mark>会議</mark>&lt;/i&gt; <mark>x</mark>…');
});
