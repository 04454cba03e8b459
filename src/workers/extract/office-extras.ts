// Text that officeparser's text output leaves out of OOXML/ODF files: chart titles and labels, SmartArt,
// spreadsheet text boxes and shapes, comments, speaker notes, and slide-master text (footers, logos set
// on the master; never the "Click to edit" prompts of title/body placeholders). Read straight from the
// parts' XML, only the parts named below, within an inflate budget; the archive has already passed the
// zip-bomb guard. Lines the main text already holds are not repeated.
import { unzipSync } from 'fflate';
import type { FileKind } from './detect.ts';

const PARTS: Partial<Record<FileKind, RegExp>> = {
  pptx: /^ppt\/(slideMasters\/slideMaster\d+|notesSlides\/notesSlide\d+|comments\/\w+|charts\/chart\d+|diagrams\/data\d+)\.xml$/,
  xlsx: /^xl\/(drawings\/drawing\d+|comments\d*|threadedComments\/\w+|charts\/chart\d+|diagrams\/data\d+)\.xml$/,
  docx: /^word\/(charts\/chart\d+|diagrams\/data\d+|comments)\.xml$/,
  odp: /^(styles|content)\.xml$/,
  odt: /^content\.xml$/,
  ods: /^content\.xml$/,
};

/** Extra text lines for an OOXML/ODF file, not already in `main`. Never throws. */
export function officeExtras(bytes: Uint8Array, kind: FileKind, main: string, maxXmlBytes: number): string {
  const pattern = PARTS[kind];
  if (!pattern) return '';
  let files: Record<string, Uint8Array>;
  let budget = maxXmlBytes;
  try {
    files = unzipSync(bytes, {
      filter(file) {
        if (!pattern.test(file.name) || file.originalSize > budget) return false;
        budget -= file.originalSize;
        return true;
      },
    });
  } catch {
    return '';
  }
  const known = new Set(main.split('\n').map((l) => l.trim()).filter(Boolean));
  const out: string[] = [];
  const names = Object.keys(files).sort(byPartOrder);
  for (const name of names) {
    const xml = new TextDecoder('utf-8').decode(files[name]);
    for (const line of partText(name, xml)) {
      const s = line.replace(/\s+/g, ' ').trim();
      if (s && !known.has(s)) {
        known.add(s);
        out.push(s);
      }
    }
  }
  return out.join('\n');
}

function partText(name: string, xml: string): string[] {
  if (name.startsWith('ppt/slideMasters/')) return masterText(xml);
  if (name.includes('/charts/')) return [...drawingParagraphs(xml), ...matches(xml, /<c:v>([^<]*)<\/c:v>/g)];
  if (/^xl\/comments\d*\.xml$/.test(name)) return matches(xml, /<(?:\w+:)?t(?:\s[^>]*)?>([^<]*)<\/(?:\w+:)?t>/g);
  if (name.startsWith('xl/threadedComments/')) return matches(xml, /<(?:\w+:)?text>([^<]*)<\/(?:\w+:)?text>/g);
  if (name === 'word/comments.xml') return paragraphs(xml, 'w:p', /<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g);
  if (name === 'styles.xml') return odfText(section(xml, 'office:master-styles'));
  if (name === 'content.xml') return [...odfAnnotations(xml), ...odfDrawText(xml)];
  if (name.startsWith('ppt/comments/')) return [...matches(xml, /<p:text>([^<]*)<\/p:text>/g), ...drawingParagraphs(xml)];
  return drawingParagraphs(xml);
}

/** DrawingML paragraphs: the <a:t> runs of each <a:p> joined. */
function drawingParagraphs(xml: string): string[] {
  return paragraphs(xml, 'a:p', /<a:t(?:\s[^>]*)?>([^<]*)<\/a:t>/g);
}

function paragraphs(xml: string, tag: string, run: RegExp): string[] {
  const out: string[] = [];
  for (const p of xml.split(`</${tag}>`)) {
    const text = matches(p, run).join('');
    if (text.trim()) out.push(text);
  }
  return out;
}

/** Master shapes except title/body placeholders (their text is the "Click to edit" prompt) and slide numbers. */
function masterText(xml: string): string[] {
  const out: string[] = [];
  for (const shape of xml.split('</p:sp>')) {
    const ph = /<p:ph\b([^>]*)>/.exec(shape);
    if (ph) {
      const type = /\btype="(\w+)"/.exec(ph[1]!)?.[1] ?? 'body';
      if (type !== 'ftr' && type !== 'dt') continue;
    }
    for (const line of drawingParagraphs(shape)) if (!/^‹#›$/.test(line.trim())) out.push(line);
  }
  return out;
}

/** ODF paragraphs (<text:p>, <text:h>) with their spans, line breaks and tabs. */
function odfText(xml: string): string[] {
  const out: string[] = [];
  for (const m of xml.matchAll(/<text:(p|h)\b[^>]*>([\s\S]*?)<\/text:\1>/g)) {
    const inner = m[2]!.replace(/<text:(tab|line-break)\s*\/>/g, ' ').replace(/<text:s(?:\s[^>]*)?\/>/g, ' ').replace(/<text:page-number\b[\s\S]*?<\/text:page-number>/g, '');
    const text = decodeXml(inner.replace(/<[^>]+>/g, ''));
    if (text.trim()) out.push(text);
  }
  return out;
}

function odfAnnotations(xml: string): string[] {
  return [...xml.matchAll(/<office:annotation\b[^>]*>([\s\S]*?)<\/office:annotation>/g)].flatMap((m) => odfText(m[1]!));
}

/** Text in shapes and frames (draw:frame/draw:custom-shape/draw:text-box) of any ODF file. */
function odfDrawText(xml: string): string[] {
  return [...xml.matchAll(/<draw:(custom-shape|text-box|rect|ellipse)\b[^>]*>([\s\S]*?)<\/draw:\1>/g)].flatMap((m) => odfText(m[2]!));
}

function section(xml: string, tag: string): string {
  const start = xml.indexOf(`<${tag}`);
  const end = xml.indexOf(`</${tag}>`);
  return start >= 0 && end > start ? xml.slice(start, end) : '';
}

function matches(xml: string, re: RegExp): string[] {
  return [...xml.matchAll(re)].map((m) => decodeXml(m[1]!));
}

function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) => {
    switch (e.toLowerCase()) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
    }
    const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

/** slideMaster2 after slideMaster1, chart10 after chart9. */
function byPartOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
