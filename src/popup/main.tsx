import './popup.css';
import { render } from 'preact';
import { App } from './App.js';
import { WEAK_TEST_KDF } from '../background/test-build.js';

const root = document.getElementById('app');
if (!root) throw new Error('popup.html has no #app element');
render(
  <>
    {WEAK_TEST_KDF && (
      <p class="error test-build" data-testid="test-build-banner">
        Test build (Tandem's dapp-test kit): the password barely protects this wallet. Never use it for real funds.
      </p>
    )}
    <App />
  </>,
  root,
);
