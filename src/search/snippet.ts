// Markup-safe snippets: document text is untrusted (a hostile PDF can carry `<script>`), so every
// character of it is escaped and the only markup in a snippet is <mark>…</mark> added here.
import type { QueryTerm } from './query.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Highlight marks OpenSearch is asked to put around matches: private-use characters, stripped from text first. */
export const MARK_START = '\uE000';
export const MARK_END = '\uE001';

const MAX_SNIPPET_CHARS = 240;

function tidy(s: string): string {
  return s.replace(/[\s\u3000]+/gu, ' ');
}

/** Characters a snippet window keeps before the first match. */
export const SNIPPET_LEAD = 60;
/** Characters of text a snippet window spans. */
export const SNIPPET_SPAN = 200;

/**
 * Marks every occurrence of the terms (case-insensitive) in a window cut from a document's text.
 * `cutBefore`/`cutAfter`: the window starts/ends inside the text, shown as an ellipsis.
 */
export function highlightWindow(window: string, terms: QueryTerm[], cutBefore: boolean, cutAfter: boolean): string {
  const text = tidy(window.replace(/[\uE000\uE001]/g, ''));
  const words = [...new Set(terms.map((t) => t.value))].sort((a, b) => b.length - a.length);
  let html = '';
  if (words.length === 0) {
    html = escapeHtml(text);
  } else {
    const re = new RegExp(words.map((w) => tidy(w).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu');
    let at = 0;
    for (const m of text.matchAll(re)) {
      if (m[0].length === 0) continue;
      html += `${escapeHtml(text.slice(at, m.index))}<mark>${escapeHtml(m[0])}</mark>`;
      at = m.index + m[0].length;
    }
    html += escapeHtml(text.slice(at));
  }
  return `${cutBefore ? '…' : ''}${html.trim()}${cutAfter ? '…' : ''}`;
}

/** A fragment whose matches OpenSearch wrapped in MARK_START/MARK_END: escape it, then turn the marks into <mark>. */
export function highlightMarked(fragment: string, cutBefore: boolean, cutAfter: boolean): string {
  let html = '';
  let open = false;
  let chars = 0;
  for (const part of tidy(fragment).split(/([\uE000\uE001])/u)) {
    if (part === MARK_START) {
      if (!open) html += '<mark>';
      open = true;
    } else if (part === MARK_END) {
      if (open) html += '</mark>';
      open = false;
    } else {
      const room = MAX_SNIPPET_CHARS - chars;
      if (room <= 0) continue;
      const kept = part.slice(0, room);
      chars += kept.length;
      html += escapeHtml(kept);
      if (kept.length < part.length) cutAfter = true;
    }
  }
  if (open) html += '</mark>';
  return `${cutBefore ? '…' : ''}${html.trim()}${cutAfter ? '…' : ''}`;
}

/** Plain text for a terminal: matches in [brackets]. */
export function snippetToText(html: string): string {
  return html
    .replace(/<mark>/g, '[')
    .replace(/<\/mark>/g, ']')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}
