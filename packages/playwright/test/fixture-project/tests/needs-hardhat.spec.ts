import { test } from '@tandem-wallet/playwright';

// This project has no hardhat: the kit must say so at once (run by packed.test.ts, which expects the failure).
test.use({ tandemOptions: { hardhat: true } });

test('asks for a kit chain in a project without hardhat', async ({ tandem }) => {
  void tandem;
});
