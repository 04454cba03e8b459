// Builds small Office files for tests, byte by byte from the published formats: OLE2 containers (via
// cfb) holding an Excel BIFF8 Workbook stream ([MS-XLS]), a PowerPoint Document stream ([MS-PPT]) and
// SummaryInformation property sets ([MS-OLEPS]); OOXML zips with core properties (via fflate).
import CFB from 'cfb';
import { zipSync, strToU8 } from 'fflate';

// ---- [MS-OLEPS] SummaryInformation ----

export type Summary = { title?: string; subject?: string; author?: string; keywords?: string; created?: Date; modified?: Date; application?: string; pages?: number };

const FMTID_SUMMARY = Buffer.from('e0859ff2f94f6810ab9108002b27b3d9', 'hex');

/** A \x05SummaryInformation stream; strings as VT_LPWSTR so any script survives. */
export function summaryStream(s: Summary): Buffer {
  const props: Array<[number, Buffer]> = [[1, typed(0x02, u16le(1200))]];
  const str = (id: number, v: string | undefined) => v !== undefined && props.push([id, lpwstr(v)]);
  str(2, s.title);
  str(3, s.subject);
  str(4, s.author);
  str(5, s.keywords);
  str(18, s.application);
  if (s.created) props.push([12, filetime(s.created)]);
  if (s.modified) props.push([13, filetime(s.modified)]);
  if (s.pages !== undefined) props.push([14, typed(0x03, u32le(s.pages))]);
  const headerLen = 8 + props.length * 8;
  const pairs: Buffer[] = [];
  const values: Buffer[] = [];
  let at = headerLen;
  for (const [id, value] of props) {
    pairs.push(Buffer.concat([u32le(id), u32le(at)]));
    values.push(value);
    at += value.length;
  }
  const section = Buffer.concat([u32le(at), u32le(props.length), ...pairs, ...values]);
  const header = Buffer.concat([u16le(0xfffe), u16le(0), u32le(0x00020006), Buffer.alloc(16), u32le(1), FMTID_SUMMARY, u32le(48)]);
  return Buffer.concat([header, section]);
}

function typed(type: number, value: Buffer): Buffer {
  return pad4(Buffer.concat([u16le(type), u16le(0), value]));
}

function lpwstr(s: string): Buffer {
  const chars = Buffer.from(`${s}\0`, 'utf16le');
  return typed(0x1f, Buffer.concat([u32le(chars.length / 2), chars]));
}

function filetime(d: Date): Buffer {
  const ticks = (BigInt(d.getTime()) + 11_644_473_600_000n) * 10_000n;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(ticks);
  return typed(0x40, b);
}

// ---- OLE2 containers ----

export function compoundFile(streams: Record<string, Uint8Array>): Buffer {
  const cfb = CFB.utils.cfb_new();
  for (const [name, bytes] of Object.entries(streams)) CFB.utils.cfb_add(cfb, `/${name}`, Buffer.from(bytes));
  return Buffer.from(CFB.write(cfb, { type: 'buffer' }) as Uint8Array);
}

// ---- Excel 97-2003 (BIFF8) ----

export type Sheet = { name: string; rows: Array<Array<string | number | Date>> };

/** A .xls with shared strings and numbers; `encrypted` adds a FILEPASS record (the cells stay readable here). */
export function buildXls(sheets: Sheet[], opts: { summary?: Summary; encrypted?: boolean } = {}): Buffer {
  const strings: string[] = [];
  const sst = (s: string) => {
    let i = strings.indexOf(s);
    if (i < 0) i = strings.push(s) - 1;
    return i;
  };
  const sheetStreams = sheets.map((sheet) => {
    const recs: Buffer[] = [record(0x0809, Buffer.concat([u16le(0x0600), u16le(0x0010), Buffer.alloc(12)]))];
    sheet.rows.forEach((row, r) => row.forEach((v, c) => {
      if (typeof v === 'number' || v instanceof Date) {
        // A date is its Excel serial (days since 1899-12-30) in a cell whose format (XF 1) is a date format.
        const f = Buffer.alloc(8);
        f.writeDoubleLE(v instanceof Date ? v.getTime() / 86_400_000 + 25_569 : v);
        recs.push(record(0x0203, Buffer.concat([u16le(r), u16le(c), u16le(v instanceof Date ? 1 : 0), f])));
      } else {
        recs.push(record(0x00fd, Buffer.concat([u16le(r), u16le(c), u16le(0), u32le(sst(v))])));
      }
    }));
    recs.push(record(0x000a, Buffer.alloc(0)));
    return Buffer.concat(recs);
  });
  const sstBody = Buffer.concat([u32le(strings.length), u32le(strings.length), ...strings.map(xlUnicode)]);
  const head = [record(0x0809, Buffer.concat([u16le(0x0600), u16le(0x0005), Buffer.alloc(12)]))];
  if (opts.encrypted) head.push(record(0x002f, Buffer.concat([u16le(1), Buffer.alloc(52)])));
  head.push(record(0x0042, u16le(1200)));
  // Cell formats: XF 0 General, XF 1 the built-in date format 14 (m/d/yy).
  head.push(record(0x00e0, Buffer.concat([u16le(0), u16le(0), Buffer.alloc(16)])));
  head.push(record(0x00e0, Buffer.concat([u16le(0), u16le(14), Buffer.alloc(16)])));
  const boundsheetLen = (name: string) => 4 + 8 + Buffer.from(name, 'utf16le').length;
  const globalsLen = head.reduce((n, b) => n + b.length, 0) + sheets.reduce((n, s) => n + boundsheetLen(s.name), 0) + 4 + sstBody.length + 4;
  let offset = globalsLen;
  const boundsheets = sheets.map((s, i) => {
    const name = Buffer.from(s.name, 'utf16le');
    const rec = record(0x0085, Buffer.concat([u32le(offset), Buffer.from([0, 0]), Buffer.from([s.name.length, 1]), name]));
    offset += sheetStreams[i]!.length;
    return rec;
  });
  const workbook = Buffer.concat([...head, ...boundsheets, record(0x00fc, sstBody), record(0x000a, Buffer.alloc(0)), ...sheetStreams]);
  return compoundFile({ Workbook: workbook, ...(opts.summary ? { '\u0005SummaryInformation': summaryStream(opts.summary) } : {}) });
}

function xlUnicode(s: string): Buffer {
  return Buffer.concat([u16le(s.length), Buffer.from([1]), Buffer.from(s, 'utf16le')]);
}

function record(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16le(type), u16le(body.length), body]);
}

// ---- PowerPoint 97-2003 ----

/** A .ppt whose slides each hold one text (TextCharsAtom in the SlideListWithText), and one comment. */
export function buildPpt(slides: string[], opts: { summary?: Summary; comment?: string; encrypted?: boolean; master?: { prompt: string; footer: string } } = {}): Buffer {
  const atoms: Buffer[] = [];
  slides.forEach((text, i) => {
    atoms.push(pptRecord(0, 0, 0x03f3, Buffer.concat([u32le(i + 1), u32le(0), u32le(0), u32le(256 + i), u32le(0)])));
    atoms.push(pptRecord(0, 1, 0x0f9f, u32le(1)));
    atoms.push(pptRecord(0, 0, 0x0fa0, Buffer.from(text.replace(/\n/g, '\r'), 'utf16le')));
  });
  const slideList = pptRecord(0xf, 0, 0x0ff0, Buffer.concat(atoms));
  const parts = [slideList];
  if (opts.comment) {
    parts.push(pptRecord(0xf, 0, 0x2ee0, Buffer.concat([
      pptRecord(0, 0, 0x0fba, Buffer.from('Reviewer', 'utf16le')),
      pptRecord(0, 1, 0x0fba, Buffer.from(opts.comment, 'utf16le')),
    ])));
  }
  const document = pptRecord(0xf, 0, 0x03e8, Buffer.concat(parts));
  const masters: Buffer[] = [];
  if (opts.master) {
    // A master's drawing: a title placeholder (placement id 1) holding the prompt, and a footer placeholder (9).
    const shape = (placementId: number, text: string) => pptRecord(0xf, 0, 0xf004, Buffer.concat([
      pptRecord(0xf, 0, 0xf011, pptRecord(0, 0, 0x0bc3, Buffer.concat([u32le(0), Buffer.from([placementId, 0, 0, 0])]))),
      pptRecord(0xf, 0, 0xf00d, pptRecord(0, 0, 0x0fa0, Buffer.from(text, 'utf16le'))),
    ]));
    const drawing = pptRecord(0xf, 0, 0x040c, pptRecord(0xf, 0, 0xf002, pptRecord(0xf, 0, 0xf003, Buffer.concat([shape(1, opts.master.prompt), shape(9, opts.master.footer)]))));
    masters.push(pptRecord(0xf, 0, 0x03f8, drawing));
  }
  const streams: Record<string, Uint8Array> = { 'PowerPoint Document': Buffer.concat([document, ...masters]), 'Current User': Buffer.alloc(20) };
  if (opts.summary) streams['\u0005SummaryInformation'] = summaryStream(opts.summary);
  if (opts.encrypted) streams.EncryptedSummary = Buffer.alloc(64);
  return compoundFile(streams);
}

function pptRecord(ver: number, instance: number, type: number, body: Buffer): Buffer {
  return Buffer.concat([u16le(ver | (instance << 4)), u16le(type), u32le(body.length), body]);
}

// ---- OOXML ----

export type CoreProps = { title?: string; creator?: string; subject?: string; keywords?: string; created?: string; modified?: string; application?: string };

/** A .docx with one paragraph per string and the given core properties. */
export function buildDocx(paragraphs: string[], core: CoreProps = {}): Buffer {
  const body = paragraphs.map((p) => `<w:p><w:r><w:t>${xml(p)}</w:t></w:r></w:p>`).join('');
  return Buffer.from(zipSync({
    '[Content_Types].xml': strToU8('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'),
    '_rels/.rels': strToU8('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>'),
    'word/document.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`),
    'docProps/core.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${
      core.title ? `<dc:title>${xml(core.title)}</dc:title>` : ''}${core.subject ? `<dc:subject>${xml(core.subject)}</dc:subject>` : ''}${
      core.creator ? `<dc:creator>${xml(core.creator)}</dc:creator>` : ''}${core.keywords ? `<cp:keywords>${xml(core.keywords)}</cp:keywords>` : ''}${
      core.created ? `<dcterms:created xsi:type="dcterms:W3CDTF">${core.created}</dcterms:created>` : ''}${
      core.modified ? `<dcterms:modified xsi:type="dcterms:W3CDTF">${core.modified}</dcterms:modified>` : ''}</cp:coreProperties>`),
    'docProps/app.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>${xml(core.application ?? 'Microsoft Office Word')}</Application><Pages>1</Pages></Properties>`),
  }));
}

/** What Office writes for a password-protected OOXML file: an OLE2 wrapper around the encrypted package. */
export function buildEncryptedOoxml(opts: { summary?: Summary } = {}): Buffer {
  return compoundFile({
    EncryptionInfo: Buffer.concat([u16le(4), u16le(4), u32le(0x40), Buffer.from('<encryption/>')]),
    EncryptedPackage: Buffer.alloc(4096, 0x5a),
    ...(opts.summary ? { '\u0005SummaryInformation': summaryStream(opts.summary) } : {}),
  });
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---- bytes ----

export function u16le(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

export function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 ? Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]) : b;
}

// ---- e-mail ----

export type MailAttachment = { name: string; contentType: string; bytes: Uint8Array };

/** A MIME .eml: a text/plain body (UTF-8, quoted-printable-free base64) and base64 attachments. */
export function buildEml(m: { from: string; to: string; cc?: string; subject: string; date: string; body: string; attachments?: MailAttachment[] }): Buffer {
  const boundary = 'b0undary-filesearch';
  const encodedSubject = `=?UTF-8?B?${Buffer.from(m.subject).toString('base64')}?=`;
  const lines = [
    `From: ${m.from}`, `To: ${m.to}`, ...(m.cc ? [`Cc: ${m.cc}`] : []), `Subject: ${encodedSubject}`, `Date: ${m.date}`,
    'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`, '',
    `--${boundary}`, 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: base64', '', wrap64(Buffer.from(m.body)),
  ];
  for (const a of m.attachments ?? []) {
    lines.push(`--${boundary}`, `Content-Type: ${a.contentType}; name="${a.name}"`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; filename="${a.name}"`, '', wrap64(Buffer.from(a.bytes)));
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'));
}

function wrap64(b: Buffer): string {
  return b.toString('base64').replace(/.{76}/g, '$&\r\n');
}

/** An Outlook .msg ([MS-OXMSG]): subject, body, sender, one To recipient and file attachments. */
export function buildMsg(m: { subject: string; body: string; senderName: string; senderEmail: string; to: string; toEmail: string; sent: Date; attachments?: Array<{ name: string; bytes: Uint8Array }> }): Buffer {
  const u16 = (s: string) => Buffer.from(s, 'utf16le');
  const props = (header: number, entries: Array<[number, Buffer]>) => Buffer.concat([
    Buffer.alloc(header),
    ...entries.map(([tag, value]) => Buffer.concat([u32le(tag), u32le(6), value.subarray(0, 8), Buffer.alloc(8 - Math.min(8, value.length))])),
  ]);
  const ticks = Buffer.alloc(8);
  ticks.writeBigUInt64LE((BigInt(m.sent.getTime()) + 11_644_473_600_000n) * 10_000n);
  const streams: Record<string, Uint8Array> = {
    '__properties_version1.0': props(32, [[0x00390040, ticks]]),
    '__substg1.0_0037001F': u16(m.subject),
    '__substg1.0_1000001F': u16(m.body),
    '__substg1.0_0C1A001F': u16(m.senderName),
    '__substg1.0_5D01001F': u16(m.senderEmail),
    '__recip_version1.0_#00000000/__properties_version1.0': props(8, [[0x0c150003, u32le(1)]]),
    '__recip_version1.0_#00000000/__substg1.0_3001001F': u16(m.to),
    '__recip_version1.0_#00000000/__substg1.0_39FE001F': u16(m.toEmail),
  };
  (m.attachments ?? []).forEach((a, i) => {
    const dir = `__attach_version1.0_#${String(i).padStart(8, '0')}`;
    streams[`${dir}/__properties_version1.0`] = props(8, []);
    streams[`${dir}/__substg1.0_3707001F`] = u16(a.name);
    streams[`${dir}/__substg1.0_37010102`] = a.bytes;
  });
  return compoundFile(streams);
}
