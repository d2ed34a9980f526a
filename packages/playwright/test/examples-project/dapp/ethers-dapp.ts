// A dapp written with ethers v6, as a developer would: BrowserProvider over window.ethereum.
import { BrowserProvider, parseEther, verifyMessage, type Eip1193Provider } from 'ethers';

declare global {
  interface Window {
    ethereum: Eip1193Provider;
  }
}

const $ = (id: string) => document.getElementById(id)!;
const provider = new BrowserProvider(window.ethereum);
const show = (id: string, text: string) => void ($(id).textContent = text);
const guard = (run: () => Promise<void>) => () =>
  run().catch((error: { code?: unknown; info?: { error?: { code?: unknown } } }) => show('error', String(error.info?.error?.code ?? error.code)));

$('connect').onclick = guard(async () => {
  const signer = await provider.getSigner();
  show('account', await signer.getAddress());
  show('chain', String((await provider.getNetwork()).chainId));
});
$('sign').onclick = guard(async () => {
  const signer = await provider.getSigner();
  const signature = await signer.signMessage('hello from ethers');
  show('recovered', verifyMessage('hello from ethers', signature));
});
$('send').onclick = guard(async () => {
  const signer = await provider.getSigner();
  const tx = await signer.sendTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: parseEther('0.25') });
  const receipt = await tx.wait();
  show('tx-hash', tx.hash);
  show('receipt-status', String(receipt?.status));
});
