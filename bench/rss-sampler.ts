/**
 * A process's resident set sampled through a step (issue 14, "memory stays flat"): VmRSS from /proc every
 * `everyMs`, plus the process's VmHWM (its peak since it started) when the step ends. The samples give the
 * median and 90th percentile over the step — the peak alone is one moment of a saw-tooth (V8 lets garbage grow
 * before a full collection), the median is where the worker sits.
 */
import { peakRssOf, rssOf } from './pipeline-stack.js';

export interface RssOverStep {
  /** VmHWM when the step ended: the process's peak since it started (the step is its largest part). */
  readonly peakMb: number | null;
  readonly medianMb: number | null;
  readonly p90Mb: number | null;
  readonly maxSampleMb: number | null;
  readonly samples: number;
  readonly everyMs: number;
}

export function sampleRss(pid: number | undefined, everyMs = 1000): { stop(): RssOverStep } {
  const samples: number[] = [];
  const take = () => {
    const v = rssOf(pid);
    if (v !== null) samples.push(v);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const sorted = [...samples].sort((a, b) => a - b);
      const at = (q: number) =>
        sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : null;
      return {
        peakMb: peakRssOf(pid),
        medianMb: at(0.5),
        p90Mb: at(0.9),
        maxSampleMb: sorted.length ? sorted[sorted.length - 1]! : null,
        samples: sorted.length,
        everyMs,
      };
    },
  };
}
