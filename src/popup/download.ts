import type { RecoveryKitFile } from '../background/api.js';

/** Saves the recovery kit through the browser's download flow; no downloads permission is needed for this. */
export function downloadFile(file: RecoveryKitFile): void {
  const url = URL.createObjectURL(new Blob([file.contents], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = file.filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the download before the browser has read the blob.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
