// Word 97-2003 ruby (furigana) is an EQ field with no result part; word-extractor dropped it, and a
// document written with ruby came out empty with status ok.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rubyFieldsAsText } from '../src/workers/extract/word-ruby.ts';

const ruby = (reading: string, base: string, align = '\\ad') => `\x13EQ \\* jc2 \\* "Font:MS Mincho" \\* hps11 \\o${align}(\\s\\up 10(${reading}),${base})\x15`;

test('ruby fields become their base text with the reading; other fields and plain text are untouched', () => {
  assert.equal(rubyFieldsAsText(`本社は${ruby('とうきょう', '東京')}にあります`), '本社は東京（とうきょう）にあります');
  assert.equal(rubyFieldsAsText(`${ruby('かぶしき', '株式', '\\ac')}${ruby('がいしゃ', '会社', '')}`), '株式（かぶしき）会社（がいしゃ）');
  // A field with a result part, and an EQ field that is not ruby: the library decides.
  const other = '\x13 PAGE \x14 3\x15 \x13EQ \\f(1,2)\x15';
  assert.equal(rubyFieldsAsText(other), other);
  assert.equal(rubyFieldsAsText('no fields here'), 'no fields here');
});

test("word-extractor's .doc reader keeps ruby text: the wrap is in place before the library loads", () => {
  // A fresh process loads the extractor as the pool thread does; the reader's text assembly then runs
  // on a piece table holding a ruby field and a field with a result.
  const text = `${ruby('とうきょう', '東京')}本社\r see page \x13 PAGE \x143\x15`;
  const script = `
    await import(${JSON.stringify(new URL('../src/workers/extract/legacy-word.ts', import.meta.url).href)});
    const { createRequire } = await import('node:module');
    const Reader = createRequire(${JSON.stringify(import.meta.url)})('word-extractor/lib/word-ole-extractor.js');
    const reader = new Reader();
    const text = ${JSON.stringify(text)};
    reader._pieces = [{ startCp: 0, endCp: text.length, length: text.length, text }];
    reader._boundaries = { ccpText: text.length };
    process.stdout.write(reader.buildDocument().getBody());`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '東京（とうきょう）本社\n see page 3');
});
