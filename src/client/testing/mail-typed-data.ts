/** The EIP712Domain type of a domain with name, version, chainId and verifyingContract, as dapps spell it out. */
export const EIP712_DOMAIN_TYPE = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
] as const;

/** The EIP-712 "Ether Mail" example, for tests that sign typed data. */
export function mailTypedData(options: { chainId: number; contents: string; from?: `0x${string}` }) {
  return {
    domain: { name: 'Ether Mail', version: '1', chainId: options.chainId, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
    types: {
      Person: [
        { name: 'name', type: 'string' },
        { name: 'wallet', type: 'address' },
      ],
      Mail: [
        { name: 'from', type: 'Person' },
        { name: 'to', type: 'Person' },
        { name: 'contents', type: 'string' },
      ],
    },
    primaryType: 'Mail',
    message: {
      from: { name: 'Cow', wallet: options.from ?? '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
      to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
      contents: options.contents,
    },
  } as const;
}

/** The same, as a dapp sends it over JSON-RPC: with EIP712Domain spelled out in its types. */
export function mailTypedDataWithDomainType(options: { chainId: number; contents: string; from?: `0x${string}` }) {
  const typedData = mailTypedData(options);
  return {
    ...typedData,
    types: {
      EIP712Domain: EIP712_DOMAIN_TYPE,
      ...typedData.types,
    },
  } as const;
}
