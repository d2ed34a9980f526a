/**
 * The co-signer as a child process of the fixture: this repository's startCosigner on its embedded
 * defaults (Aedes broker over WSS, self-signed certificate, generated master key), in the data
 * directory it is given. Bundled by scripts/build.ts into dist/cosigner.js.
 *
 *   node dist/cosigner.js <dataDir>
 *
 * Prints one line `TANDEM_COSIGNER_READY {"url":...,"spkiHash":...}` on stdout when serving, writes
 * its log to stderr, and stops on SIGTERM/SIGINT or when its parent's stdin closes.
 */
import { startCosigner } from '../../../src/cosigner/service.js';

const dataDir = process.argv[2];
if (!dataDir) {
  console.error('usage: cosigner.js <dataDir>');
  process.exit(2);
}

try {
  const cosigner = await startCosigner({ dataDir, port: 0, log: (line: string) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`TANDEM_COSIGNER_READY ${JSON.stringify({ url: cosigner.url, spkiHash: cosigner.spkiHash })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(1), 5_000);
    hard.unref();
    cosigner.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`stop failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The parent holds our stdin open: when it dies without a signal (crash, SIGKILL), we go too.
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
} catch (error) {
  console.error(`The co-signer did not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
}
