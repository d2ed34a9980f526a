import { useEffect, useState } from 'preact/hooks';
import { errorText, PopupError } from '../errors.js';
import { usePoll } from '../use-poll.js';

/**
 * A page's view from the worker: loaded fresh once (the worker asks the co-signer), then polled
 * from what the worker knows (kept current by the co-signer's mail). A locked wallet is reported
 * as `locked`, so the page can show the unlock form and `reload` after it.
 */
export function useLiveView<T>(load: (fresh: boolean) => Promise<T>, pollMs: number) {
  const [view, setView] = useState<T>();
  const [locked, setLocked] = useState(false);
  const [error, setError] = useState<string>();

  const fetchView = async (fresh: boolean) => {
    try {
      setView(await load(fresh));
      setLocked(false);
      setError(undefined);
    } catch (failure) {
      if (failure instanceof PopupError && failure.reason === 'LOCKED') setLocked(true);
      else setError(errorText(failure));
    }
  };

  useEffect(() => {
    void fetchView(true);
  }, []);

  usePoll(!locked && view !== undefined, pollMs, () => fetchView(false));

  return { view, setView, locked, error, setError, reload: () => fetchView(true) };
}
