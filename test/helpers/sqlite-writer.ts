// A second process writing to a SQLite index: `node test/helpers/sqlite-writer.ts DB PREFIX COUNT BATCH`
// writes COUNT documents in batches of BATCH through SqliteIndex and prints one JSON line: how many
// ops succeeded, how many failed and with which error kinds.
import { SqliteIndex } from '../../src/adapters/sqlite-index.ts';
import type { IndexDocument } from '../../src/types.ts';

const [db, prefix, count, batch] = process.argv.slice(2);
const index = new SqliteIndex(db!);
await index.init();
let ok = 0;
const failed: Array<{ kind: string; message: string }> = [];
let thrown = 0;
for (let i = 0; i < Number(count); i += Number(batch)) {
  const docs: IndexDocument[] = [];
  for (let j = i; j < Math.min(Number(count), i + Number(batch)); j++) {
    const id = `${prefix}-${j}`;
    docs.push({ id, source: id, bucket: '', key: id, name: id, contentType: 'text/plain', size: 1, status: 'ok', text: `text of ${id} ${'x'.repeat(2000)}`, truncated: false, pages: 1, ocrPages: 0, indexedAt: new Date().toISOString() });
  }
  try {
    const results = await index.write(docs.map((doc) => ({ kind: 'upsert', doc })));
    for (const r of results) {
      if (r.ok) ok++;
      else failed.push({ kind: r.error.kind, message: r.error.message });
    }
  } catch (err) {
    thrown++;
    failed.push({ kind: (err as { kind?: string }).kind ?? 'thrown', message: String(err) });
  }
}
await index.close();
console.log(JSON.stringify({ ok, failed: failed.length, thrown, kinds: [...new Set(failed.map((f) => `${f.kind}: ${f.message.slice(0, 80)}`))] }));
