import { useEffect, useRef } from 'preact/hooks';

/**
 * Runs `tick` every `intervalMs` while `active`, never two at once: the next run is scheduled only
 * after the previous answer arrived, so a slow worker is not flooded. `tick` handles its own errors.
 */
export function usePoll(active: boolean, intervalMs: number, tick: () => Promise<void>): void {
  const latestTick = useRef(tick);
  latestTick.current = tick;

  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        await latestTick.current();
      } finally {
        if (!stopped) timer = setTimeout(() => void run(), intervalMs);
      }
    };
    timer = setTimeout(() => void run(), intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, intervalMs]);
}
