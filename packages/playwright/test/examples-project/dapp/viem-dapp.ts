// A dapp written with viem (what wagmi runs on): a wallet client over window.ethereum.
import { createPublicClient, createWalletClient, custom, parseEther, verifyTypedData, type EIP1193Provider } from 'viem';
import { hardhat } from 'viem/chains';

declare global {
  interface Window {
    ethereum: EIP1193Provider;
  }
}

const $ = (id: string) => document.getElementById(id)!;
const show = (id: string, text: string) => void ($(id).textContent = text);
const wallet = createWalletClient({ chain: hardhat, transport: custom(window.ethereum) });
const chain = createPublicClient({ chain: hardhat, transport: custom(window.ethereum) });
const guard = (run: () => Promise<void>) => () => run().catch((error: { code?: unknown; cause?: { code?: unknown } }) => show('error', String(error.code ?? error.cause?.code)));

const typedData = {
  domain: { name: 'Viem example', version: '1', chainId: hardhat.id, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
  types: { Mail: [{ name: 'to', type: 'address' }, { name: 'contents', type: 'string' }] },
  primaryType: 'Mail',
  message: { to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', contents: 'hello from viem' },
} as const;

$('connect').onclick = guard(async () => {
  const [account] = await wallet.requestAddresses();
  show('account', account!);
  show('chain', String(await wallet.getChainId()));
});
$('sign-typed').onclick = guard(async () => {
  const [account] = await wallet.getAddresses();
  const signature = await wallet.signTypedData({ account: account!, ...typedData });
  show('typed-valid', String(await verifyTypedData({ address: account!, signature, ...typedData })));
});
$('send').onclick = guard(async () => {
  const [account] = await wallet.getAddresses();
  const hash = await wallet.sendTransaction({ account: account!, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: parseEther('0.5') });
  const receipt = await chain.waitForTransactionReceipt({ hash });
  show('tx-hash', hash);
  show('receipt-status', receipt.status);
});
