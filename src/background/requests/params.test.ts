import { describe, expect, it } from 'vitest';
import { stringToHex } from 'viem';
import { expectInvalidParams } from './expect-invalid-params.js';
import { MAX_CALLDATA_BYTES, MAX_MESSAGE_BYTES, parseAddChain, parsePermissionRequest, parsePersonalSign, parseSwitchChain, parseTransactionRequest } from './params.js';

const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const BOB = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

describe('parsePersonalSign', () => {
  it('takes [hex message, address] and returns the bytes and the checksummed address', () => {
    expect(parsePersonalSign(['0xDEADbeef', ALICE.toLowerCase()])).toEqual({ data: '0xdeadbeef', address: ALICE });
  });

  it('reads a message that is not hex as UTF-8 text', () => {
    expect(parsePersonalSign(['Hello Tandem ✓', ALICE])).toEqual({ data: stringToHex('Hello Tandem ✓'), address: ALICE });
    expect(parsePersonalSign(['0x marks the spot', ALICE]).data).toBe(stringToHex('0x marks the spot'));
  });

  it('accepts an empty message and ignores a legacy third (password) param', () => {
    expect(parsePersonalSign(['', ALICE, 'password'])).toEqual({ data: '0x', address: ALICE });
  });

  it('swaps the legacy [address, message] order only when the second param is not an address', () => {
    expect(parsePersonalSign([ALICE, '0xdeadbeef'])).toEqual({ data: '0xdeadbeef', address: ALICE });
    expect(parsePersonalSign([ALICE, 'sign in'])).toEqual({ data: stringToHex('sign in'), address: ALICE });
    // Both look like addresses: the standard order wins and the first is the message.
    expect(parsePersonalSign([BOB, ALICE])).toEqual({ data: BOB.toLowerCase(), address: ALICE });
  });

  it('refuses params that are not a 2-item array', () => {
    expectInvalidParams(() => parsePersonalSign('0xdeadbeef'), /personal_sign expects params to be an array/);
    expectInvalidParams(() => parsePersonalSign(['0xdeadbeef']), /expects \[message, address\], got 1 param/);
    expectInvalidParams(() => parsePersonalSign(['0x', ALICE, 'x', 'y']), /got 4 params/);
  });

  it('refuses a message that is not a string, or hex with an odd number of digits', () => {
    expectInvalidParams(() => parsePersonalSign([42, ALICE]), /personal_sign message must be a 0x-hex string or text, got the number 42/);
    expectInvalidParams(() => parsePersonalSign(['0x123', ALICE]), /personal_sign message has an odd number of hex digits/);
  });

  it('refuses an address that is not one', () => {
    expectInvalidParams(() => parsePersonalSign(['0xdeadbeef', '0x1234']), /personal_sign address \(params\[1\]\) is not a valid address/);
    expectInvalidParams(() => parsePersonalSign(['0xdeadbeef', null]), /personal_sign address \(params\[1\]\) must be a 0x-prefixed 20-byte address string, got null/);
  });

  it('refuses messages over the size cap, as text or as hex', () => {
    expectInvalidParams(() => parsePersonalSign(['a'.repeat(MAX_MESSAGE_BYTES + 1), ALICE]), new RegExp(`is ${MAX_MESSAGE_BYTES + 1} bytes; at most ${MAX_MESSAGE_BYTES}`));
    expectInvalidParams(() => parsePersonalSign([`0x${'ab'.repeat(MAX_MESSAGE_BYTES + 1)}`, ALICE]), /at most 65536 are accepted/);
    expect(parsePersonalSign(['a'.repeat(MAX_MESSAGE_BYTES), ALICE]).data.length).toBe(2 + 2 * MAX_MESSAGE_BYTES);
  });
});

describe('parseTransactionRequest', () => {
  it('takes a plain transfer with only from and to', () => {
    expect(parseTransactionRequest([{ from: ALICE.toLowerCase(), to: BOB.toLowerCase() }])).toEqual({ from: ALICE, to: BOB });
  });

  it('reads every field as hex quantities, tolerating whole-byte padding', () => {
    const request = parseTransactionRequest([
      {
        from: ALICE,
        to: BOB,
        value: '0x0de0b6b3a7640000',
        data: '0xA9059CBB',
        gas: '0x5208',
        maxFeePerGas: '0x77359400',
        maxPriorityFeePerGas: '0x3b9aca00',
        nonce: '0x7',
        chainId: '0x7a69',
        type: '0x2',
        accessList: [],
      },
    ]);
    expect(request).toEqual({
      from: ALICE,
      to: BOB,
      value: 10n ** 18n,
      data: '0xa9059cbb',
      gas: 21_000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      nonce: 7,
      chainId: 31337,
    });
  });

  it('accepts the input and gasLimit aliases', () => {
    expect(parseTransactionRequest([{ from: ALICE, to: BOB, input: '0x01', gasLimit: '0x5208' }])).toEqual({ from: ALICE, to: BOB, data: '0x01', gas: 21_000n });
    expect(parseTransactionRequest([{ from: ALICE, to: BOB, data: '0x01', input: '0x01', gas: '0x10', gasLimit: '0x10' }])).toMatchObject({ data: '0x01', gas: 16n });
  });

  it('turns a legacy gasPrice into equal EIP-1559 fee cap and tip', () => {
    expect(parseTransactionRequest([{ from: ALICE, to: BOB, gasPrice: '0x3b9aca00' }])).toEqual({
      from: ALICE,
      to: BOB,
      maxFeePerGas: 1_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    });
  });

  it('takes a contract creation (no to, or to: null) when it carries init code', () => {
    expect(parseTransactionRequest([{ from: ALICE, data: '0x6080' }])).toEqual({ from: ALICE, data: '0x6080' });
    expect(parseTransactionRequest([{ from: ALICE, to: null, data: '0x6080' }])).toEqual({ from: ALICE, data: '0x6080' });
  });

  it('refuses a transaction without from, or with a bad address', () => {
    expectInvalidParams(() => parseTransactionRequest([{ to: BOB }]), /needs "from"/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: '0xnope' }]), /eth_sendTransaction to is not a valid address/);
  });

  it('refuses a contract creation without init code', () => {
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, value: '0x1' }]), /without "to" creates a contract and needs the init code in "data"/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, data: '0x' }]), /needs the init code/);
  });

  it('takes a legacy (type 0x0) transaction with or without its gas price, and refuses other types, saying so', () => {
    expect(parseTransactionRequest([{ from: ALICE, to: BOB, type: '0x0', gasPrice: '0x3b9aca00' }])).toEqual({ from: ALICE, to: BOB, legacy: true, gasPrice: 1_000_000_000n });
    expect(parseTransactionRequest([{ from: ALICE, to: BOB, type: '0x0' }])).toEqual({ from: ALICE, to: BOB, legacy: true });
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, type: '0x0', maxFeePerGas: '0x2' }]), /type 0x0 \(legacy\) takes gasPrice, not EIP-1559 fees/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, type: '0x1' }]), /type 0x1 is not supported: Tandem signs legacy \(0x0\) and EIP-1559 \(0x2\) transactions/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, type: '0x4' }]), /type 0x4 is not supported/);
  });

  it('refuses mixing gasPrice with EIP-1559 fees, and a tip above the fee cap', () => {
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, gasPrice: '0x1', maxFeePerGas: '0x2' }]), /both gasPrice and EIP-1559 fees/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, gasPrice: '0x1', maxPriorityFeePerGas: '0x1' }]), /both gasPrice and EIP-1559 fees/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' }]), /maxPriorityFeePerGas is above maxFeePerGas/);
  });

  it('refuses quantities that are not hex strings', () => {
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, value: '100' }]), /eth_sendTransaction value must be a 0x-prefixed hex quantity like "0x1a", got "100"/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, value: 100 }]), /value must be a 0x-prefixed hex quantity string, got the number 100/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, value: '0x' }]), /value must be a 0x-prefixed hex quantity/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, value: `0x1${'0'.repeat(64)}` }]), /above the maximum/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, nonce: '0x20000000000000' }]), /nonce is 9007199254740992, above the maximum 9007199254740991/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, gas: '0x0' }]), /gas is 0; leave it out/);
  });

  it('refuses malformed or oversized call data, and data and input that disagree', () => {
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, data: '0xabc' }]), /data has an odd number of hex digits/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, data: 'a9059cbb' }]), /data must start with 0x/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, data: '0xzz' }]), /data contains characters that are not hex digits/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, data: `0x${'00'.repeat(MAX_CALLDATA_BYTES + 1)}` }]), /data is 131073 bytes; at most 131072/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, data: '0x01', input: '0x02' }]), /both "data" and "input" and they differ/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, gas: '0x1', gasLimit: '0x2' }]), /both "gas" and "gasLimit" and they differ/);
  });

  it('refuses fields it would otherwise drop from what the dapp built', () => {
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, blobVersionedHashes: [] }]), /unexpected field "blobVersionedHashes"/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, authorizationList: [] }]), /unexpected field "authorizationList"/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB, accessList: [{ address: BOB, storageKeys: [] }] }]), /accessList is not supported/);
  });

  it('refuses params that are not one transaction object', () => {
    expectInvalidParams(() => parseTransactionRequest({ from: ALICE }), /expects params to be an array/);
    expectInvalidParams(() => parseTransactionRequest([]), /expects \[transaction\], got 0 params/);
    expectInvalidParams(() => parseTransactionRequest([{ from: ALICE, to: BOB }, {}]), /got 2 params/);
    expectInvalidParams(() => parseTransactionRequest(['0x']), /transaction \(params\[0\]\) must be an object, got the string "0x"/);
  });
});

describe('parseSwitchChain', () => {
  it('reads a canonical hex chain id', () => {
    expect(parseSwitchChain([{ chainId: '0x1' }])).toEqual({ chainId: 1 });
    expect(parseSwitchChain([{ chainId: '0xaa36a7' }])).toEqual({ chainId: 11155111 });
    expect(parseSwitchChain([{ chainId: '0x1FFFFFFFFFFFFF' }])).toEqual({ chainId: Number.MAX_SAFE_INTEGER });
  });

  it('refuses leading zeros, decimal, zero, too large and missing chain ids', () => {
    expectInvalidParams(() => parseSwitchChain([{ chainId: '0x01' }]), /chainId "0x01" has leading zeros/);
    expectInvalidParams(() => parseSwitchChain([{ chainId: 1 }]), /chainId must be a 0x-prefixed hex quantity string, got the number 1/);
    expectInvalidParams(() => parseSwitchChain([{ chainId: '0x0' }]), /chainId must be greater than 0/);
    expectInvalidParams(() => parseSwitchChain([{ chainId: '0x20000000000000' }]), /above the maximum 9007199254740991/);
    expectInvalidParams(() => parseSwitchChain([{}]), /chainId must be a 0x-prefixed hex quantity string, got nothing/);
  });

  it('refuses other keys and other shapes', () => {
    expectInvalidParams(() => parseSwitchChain([{ chainId: '0x1', chainName: 'x' }]), /unexpected field "chainName"/);
    expectInvalidParams(() => parseSwitchChain(['0x1']), /params\[0\] must be an object/);
    expectInvalidParams(() => parseSwitchChain([]), /expects \[\{ chainId \}\]/);
  });
});

describe('parseAddChain', () => {
  const sepolia = {
    chainId: '0xaa36a7',
    chainName: 'Sepolia',
    rpcUrls: ['https://rpc.sepolia.example/key', 'https://backup.example'],
    nativeCurrency: { name: 'Sepolia Ether', symbol: 'ETH', decimals: 18 },
    blockExplorerUrls: ['https://sepolia.etherscan.io'],
    iconUrls: ['https://example.com/icon.svg'],
  };

  it('returns the chain with the first RPC and explorer URLs', () => {
    expect(parseAddChain([sepolia])).toEqual({
      id: 11155111,
      name: 'Sepolia',
      rpcUrl: 'https://rpc.sepolia.example/key',
      nativeCurrency: { name: 'Sepolia Ether', symbol: 'ETH', decimals: 18 },
      blockExplorerUrl: 'https://sepolia.etherscan.io',
    });
  });

  it('allows plain http only for this machine, and no explorer', () => {
    const local = { ...sepolia, chainId: '0x7a69', rpcUrls: ['http://127.0.0.1:8545'], blockExplorerUrls: null };
    expect(parseAddChain([local])).toEqual({ id: 31337, name: 'Sepolia', rpcUrl: 'http://127.0.0.1:8545', nativeCurrency: sepolia.nativeCurrency });
    expect(parseAddChain([{ ...local, rpcUrls: ['http://localhost:8545'], blockExplorerUrls: undefined }]).rpcUrl).toBe('http://localhost:8545');
  });

  it('refuses remote http, other schemes and non-URLs', () => {
    expectInvalidParams(() => parseAddChain([{ ...sepolia, rpcUrls: ['http://rpc.example.com'] }]), /rpcUrls\[0\] "http:\/\/rpc.example.com" uses http; only https is allowed, except for localhost/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, rpcUrls: ['https://ok.example', 'ftp://x.example'] }]), /rpcUrls\[1\] "ftp:\/\/x.example" must be an https URL/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, rpcUrls: ['not a url'] }]), /rpcUrls\[0\] "not a url" is not a valid URL/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, rpcUrls: [] }]), /rpcUrls must be a non-empty array/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, blockExplorerUrls: ['javascript:alert(1)'] }]), /blockExplorerUrls\[0\] .* must be an https URL/);
  });

  it('refuses a native currency that is not 18 decimals or lacks a symbol', () => {
    expectInvalidParams(() => parseAddChain([{ ...sepolia, nativeCurrency: { ...sepolia.nativeCurrency, decimals: 6 } }]), /nativeCurrency.decimals must be 18, got the number 6/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, nativeCurrency: { name: 'Ether', decimals: 18 } }]), /nativeCurrency.symbol must be a string, got nothing/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, nativeCurrency: { ...sepolia.nativeCurrency, symbol: 'TOOLONG' } }]), /nativeCurrency.symbol must be 2 to 6 characters/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, nativeCurrency: { ...sepolia.nativeCurrency, logo: 'x' } }]), /nativeCurrency has unexpected field "logo"/);
  });

  it('refuses a missing name, a bad chain id and unknown fields', () => {
    expectInvalidParams(() => parseAddChain([{ ...sepolia, chainName: '  ' }]), /chainName must be 1 to 100 characters, got 0/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, chainId: '0x00aa36a7' }]), /has leading zeros/);
    expectInvalidParams(() => parseAddChain([{ ...sepolia, rpcUrl: 'https://x.example' }]), /unexpected field "rpcUrl"/);
  });
});

describe('parsePermissionRequest', () => {
  it('grants eth_accounts', () => {
    expect(parsePermissionRequest([{ eth_accounts: {} }])).toBe('eth_accounts');
  });

  it('refuses any other permission, none at all, or a malformed one', () => {
    expectInvalidParams(() => parsePermissionRequest([{ eth_accounts: {}, snap_dialog: {} }]), /asks for "snap_dialog"; Tandem grants only eth_accounts/);
    expectInvalidParams(() => parsePermissionRequest([{}]), /asks for no permission/);
    expectInvalidParams(() => parsePermissionRequest([{ eth_accounts: true }]), /eth_accounts must be an object \(\{\}\), got the boolean true/);
    expectInvalidParams(() => parsePermissionRequest(['eth_accounts']), /params\[0\] must be an object/);
    expectInvalidParams(() => parsePermissionRequest(undefined), /expects params to be an array/);
  });
});
