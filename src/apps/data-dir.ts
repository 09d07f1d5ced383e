/**
 * The embedded store's data directory. PGlite has no lock of its own and two processes opening one
 * directory would corrupt it, so Herald (and the CLI) hold `herald.lock` while using it; the lock
 * records the server's URL so `herald apps` can talk to the running server instead.
 * Also seeds new directories from a cached, freshly initialized cluster: PGlite's initdb takes
 * seconds, a copy takes milliseconds (matters for tests that create many stores).
 */
import { cp } from 'node:fs/promises';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const LOCK_FILE = 'herald.lock';

export interface LockInfo {
  pid: number;
  /** Base URL of the Herald holding the lock (once it listens); absent for the CLI. */
  url?: string;
  holder: 'server' | 'cli';
  startedAt: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly info: LockInfo,
  ) {
    super(
      `The embedded store in ${dataDir} is in use by ${info.holder === 'server' ? 'a running Herald' : 'another herald command'} (pid ${info.pid}${info.url ? `, ${info.url}` : ''}). ` +
        'PGlite allows one process at a time.',
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  /** Records the server URL in the lock so the CLI can find the running server. */
  setUrl(url: string): void;
  release(): void;
}

/** Directories locked by this process (a second Herald in one process must not share one either). */
const heldHere = new Set<string>();

function isAlive(info: LockInfo, dir: string): boolean {
  if (info.pid === process.pid) return heldHere.has(dir);
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // After a reboot the pid may belong to something else: on Linux, check it is a Node process.
  try {
    const cmdline = readFileSync(`/proc/${info.pid}/cmdline`, 'utf8');
    return /node|herald|tsx|bun|deno/i.test(cmdline);
  } catch {
    return true;
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const value = JSON.parse(text) as LockInfo;
    return typeof value.pid === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The live lock on `dataDir`, or undefined when free (a stale lock counts as free). */
export function readLock(dataDir: string): LockInfo | undefined {
  const dir = resolve(dataDir);
  let text: string;
  try {
    text = readFileSync(join(dir, LOCK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const info = parseLock(text);
  if (!info) return undefined;
  return isAlive(info, dir) ? info : undefined;
}

export function acquireDataDirLock(dataDir: string, holder: LockInfo['holder']): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  let info: LockInfo = { pid: process.pid, holder, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const current = readLock(dir);
      if (current) throw new DataDirLockedError(dataDir, current);
      // Stale (its process is gone) or unreadable: take it over.
      rmSync(file, { force: true });
    }
  }
  heldHere.add(dir);
  let released = false;
  return {
    setUrl(url) {
      if (released) return;
      info = { ...info, url };
      writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
    },
    release() {
      if (released) return;
      released = true;
      heldHere.delete(dir);
      try {
        if (parseLock(readFileSync(file, 'utf8'))?.pid === process.pid) unlinkSync(file);
      } catch {
        /* already gone */
      }
    },
  };
}

function pgliteVersion(): string {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    for (let i = 0; i < 5; i++, dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
    }
  } catch {
    /* fall through */
  }
  return 'unknown';
}

function ownedByMe(dir: string): boolean {
  try {
    const uid = process.getuid?.();
    return uid === undefined || statSync(dir).uid === uid;
  } catch {
    return false;
  }
}

/** A freshly initialized PGlite cluster in the temp directory, built once per version and user. */
async function template(): Promise<string | undefined> {
  const version = pgliteVersion();
  if (version === 'unknown') return undefined;
  const dir = join(tmpdir(), `herald-pglite-template-${version}-${process.getuid?.() ?? 'u'}`);
  if (existsSync(join(dir, 'PG_VERSION'))) return ownedByMe(dir) ? dir : undefined;
  const build = mkdtempSync(join(tmpdir(), 'herald-pglite-build-'));
  try {
    // Built in the embedded store's worker thread, so initdb never blocks the event loop.
    const { openEmbeddedDatabase } = await import('../storage/embedded.js');
    const db = await openEmbeddedDatabase(build);
    await db.close();
    renameSync(build, dir);
  } catch {
    // Another process won the race (or the build failed): use theirs if it is there.
    rmSync(build, { recursive: true, force: true });
  }
  return existsSync(join(dir, 'PG_VERSION')) && ownedByMe(dir) ? dir : undefined;
}

/**
 * Seeds an empty data directory from the template so opening it skips initdb. Leaves any
 * directory that already holds files alone; HERALD_PGLITE_TEMPLATE=0 turns it off.
 */
export async function seedEmbeddedDataDir(dataDir: string): Promise<void> {
  if (process.env.HERALD_PGLITE_TEMPLATE === '0') return;
  const dir = resolve(dataDir);
  if (existsSync(join(dir, 'PG_VERSION'))) return;
  if (existsSync(dir) && readdirSync(dir).some((entry) => entry !== LOCK_FILE)) return;
  const source = await template().catch(() => undefined);
  if (!source) return;
  mkdirSync(dir, { recursive: true });
  // Asynchronous: a thousand files must not stall the event loop of a server already serving.
  await cp(source, dir, { recursive: true });
}
