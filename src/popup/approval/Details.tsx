import type { ApprovalView } from '../../background/api.js';
import { AddChainDetails } from './AddChainDetails.js';
import { ConnectDetails } from './ConnectDetails.js';
import { MessageDetails } from './MessageDetails.js';
import { TransactionDetails } from './TransactionDetails.js';
import { TypedDataDetails } from './TypedDataDetails.js';
import { CallsDetails } from './CallsDetails.js';
import { WatchAssetDetails } from './WatchAssetDetails.js';

const titles: Record<ApprovalView['details']['kind'], string> = {
  connect: 'Connect',
  message: 'Sign a message',
  typedData: 'Sign typed data',
  transaction: 'Send a transaction',
  addChain: 'Add a network',
  calls: 'Send calls',
  watchAsset: 'Add a token',
};

export function detailsTitle(view: ApprovalView): string {
  return titles[view.details.kind];
}

export function Details({ view }: { view: ApprovalView }) {
  const details = view.details;
  switch (details.kind) {
    case 'connect':
      return <ConnectDetails origin={view.origin} />;
    case 'message':
      return <MessageDetails {...details} />;
    case 'typedData':
      return <TypedDataDetails {...details} />;
    case 'transaction':
      return <TransactionDetails {...details} />;
    case 'addChain':
      return <AddChainDetails chain={details.chain} />;
    case 'calls':
      return <CallsDetails {...details} />;
    case 'watchAsset':
      return <WatchAssetDetails {...details} />;
  }
}
