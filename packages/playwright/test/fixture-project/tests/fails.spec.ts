import { test, expect } from '@tandem-wallet/playwright';

// Run only by packed.test.ts (KIT_EXPECT_FAIL=1): a failing test must still stop every process.
test('a failing dapp test', async ({ tandem }) => {
  test.skip(!process.env.KIT_EXPECT_FAIL, 'only when checking clean-up after a failure');
  expect(tandem.address).toBe('0xnot-this');
});
