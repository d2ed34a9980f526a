/** The views of the popup page, chosen by `location.hash`. */
export type Route =
  | { name: 'overview' }
  | { name: 'onboarding' }
  | { name: 'new-kit' }
  | { name: 'unlock'; next: string }
  | { name: 'approve'; id: string }
  /** This wallet's requests held for approvers. */
  | { name: 'activity' }
  /** This browser as an approver for other wallets: enrollment, then the approvals to give. */
  | { name: 'approver' }
  /** An EIP-5792 bundle (wallet_showCallsStatus), by its wallet-side ref. */
  | { name: 'calls'; ref: string }
  | { name: 'not-found'; hash: string };

/** Where to go after unlocking: only a path inside this page, never another URL. */
function safeNext(next: string | null): string {
  if (!next) return '/';
  const path = next.startsWith('#') ? next.slice(1) : next;
  return path.startsWith('/') && !path.startsWith('//') ? path : '/';
}

export function parseRoute(hash: string): Route {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const queryAt = raw.indexOf('?');
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1));

  if (path === '' || path === '/') return { name: 'overview' };
  if (path === '/onboarding') return { name: 'onboarding' };
  if (path === '/new-kit') return { name: 'new-kit' };
  if (path === '/activity') return { name: 'activity' };
  if (path === '/approver') return { name: 'approver' };
  if (path === '/unlock') return { name: 'unlock', next: safeNext(query.get('next')) };
  const calls = /^\/calls\/([^/]+)$/.exec(path);
  if (calls?.[1]) {
    try {
      return { name: 'calls', ref: decodeURIComponent(calls[1]) };
    } catch {
      return { name: 'not-found', hash: raw };
    }
  }
  const approve = /^\/approve\/([^/]+)$/.exec(path);
  if (approve?.[1]) {
    try {
      return { name: 'approve', id: decodeURIComponent(approve[1]) };
    } catch {
      return { name: 'not-found', hash: raw };
    }
  }
  return { name: 'not-found', hash: raw };
}

export function navigate(path: string): void {
  location.hash = path;
}
