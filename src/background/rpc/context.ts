/** What every provider method handler receives, and what it answers. */
export interface RpcContext {
  /** The page's origin, from the browser (port.sender), never from the page. */
  origin: string;
  method: string;
  params: unknown;
  /** Where a deferred answer goes: see approvals.requestKeyOf. */
  requestKey: string;
}

/** An answer now, or DEFERRED when an approval will answer later. */
export const DEFERRED = Symbol('deferred');
export type RpcOutcome = { result: unknown } | typeof DEFERRED;

export type RpcHandler = (context: RpcContext) => Promise<RpcOutcome>;
