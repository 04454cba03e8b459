// The shape of bench/results/latest.json.
import type { MachineFacts } from '../harness/machine.ts';
import type { ControlPlaneResult, ControlPlaneRttResult, ScaleOutResult } from '../sections/control-plane.ts';
import type { FullWorkResult, PoolScalingResult } from '../sections/full-work.ts';
import type { MemoryResult } from '../sections/memory.ts';
import type { OcrAccuracyResult } from '../sections/ocr-accuracy.ts';
import type { StageFigure } from '../sections/stages.ts';
import type { RedeliveryResult } from '../sections/redelivery.ts';
import type { SearchBenchResult } from '../sections/search.ts';

export type BenchResults = {
  machine: MachineFacts;
  quick: boolean;
  sections: string[];
  durationSeconds?: number;
  controlPlane?: ControlPlaneResult;
  controlPlaneRtt?: ControlPlaneRttResult;
  scaleOut?: ScaleOutResult;
  fullPipeline?: FullWorkResult;
  memory?: MemoryResult;
  /** stage -> variant -> figures. */
  stages?: Record<string, Record<string, Omit<StageFigure, 'stage' | 'variant'>>>;
  /** The same figures as a list, in the order measured. */
  stageFigures?: StageFigure[];
  poolScaling?: PoolScalingResult;
  ocr?: OcrAccuracyResult;
  search?: SearchBenchResult;
  redelivery?: RedeliveryResult;
  /** Sections that failed, with their error. */
  errors: Record<string, string>;
};

/** The targets, read from the results (never asserted). */
export const TARGETS = {
  controlPlaneRatio: 5,
  controlPlaneRttRatio: 20,
  fullWorkRatio: 1.7,
  cpuUtilization: 0.85,
  peakRssMb: 400,
  rssLimitMb: 500,
  /** RSS at rest after work (issue 10). */
  idleRssMb: 150,
  /** Search p95 on the 100,000-document SQLite index, ms. */
  searchP95Ms: 50,
  /** OCR per page against the native CLI, same pages (issue 11). */
  ocrAutoRatio: 1.05,
  ocrWasmRatio: 1.5,
} as const;
