import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';

/** Creates `dir` (and parents) readable only by the owner, if it does not exist. */
export async function ensurePrivateDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Writes a file that only the owner can read. `wx` makes creation exclusive, so two processes
 * starting at once cannot both write a key: the loser reads the winner's file instead.
 */
export async function writePrivateFileOnce(path: string, contents: string): Promise<boolean> {
  try {
    await writeFile(path, contents, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  // mode on creation is filtered by the umask; make it exact
  await chmod(path, 0o600);
  return true;
}

/** Replaces a file's contents, owner-only. */
export async function writePrivateFile(path: string, contents: string): Promise<void> {
  await writeFile(path, contents, { mode: 0o600 });
  await chmod(path, 0o600);
}

export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
