/**
 * Durable state for the emulator: an append-only JSON-lines journal with group-committed fsync, compacted
 * into a snapshot (`writeFileAtomic`: exclusive random temp file, fsync, rename) once it grows. Every record is on disk before the caller's
 * promise resolves; records that arrive while an fsync is in flight share the next one. After a `kill -9`,
 * `openState` replays the snapshot and the journal, dropping a torn last line. Files are mode 0600.
 */
import { closeSync, constants as fsConstants, fsyncSync, openSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isAtomicTempFile, writeFileAtomic } from '../atomic-file';
import { StateCorruptError } from '../errors';
import { type ApplyResult, type JournalRecord, KeyStore, type Mutation, type Snapshot } from './store';

export const SNAPSHOT_FILE = 'state.snapshot.json';
export const JOURNAL_FILE = 'state.journal.jsonl';

/** Journal size that triggers compaction into a snapshot. */
const DEFAULT_COMPACT_BYTES = 16 * 1024 * 1024;

interface Pending {
  readonly line: string;
  readonly record: JournalRecord;
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: Error) => void;
}

/** Syncs a directory so that a create or rename inside it survives a crash. */
async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    closeSync(fd);
  }
}

/** Reads the snapshot and the journal of `dir` into a store; truncates a torn journal tail. */
async function replay(dir: string): Promise<{ store: KeyStore; journalBytes: number }> {
  const snapshotPath = path.join(dir, SNAPSHOT_FILE);
  const journalPath = path.join(dir, JOURNAL_FILE);
  let store = new KeyStore();
  let text: string | undefined;
  try {
    text = await fsp.readFile(snapshotPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    try {
      store = KeyStore.fromSnapshot(JSON.parse(text) as Snapshot);
    } catch (error) {
      throw new StateCorruptError(`cannot read ${snapshotPath}: ${(error as Error).message}`, {
        hint: 'the snapshot is written atomically, so this file was changed by something else; restore it or use another --state-dir',
      });
    }
  }
  const snapshotSeq = store.seq;

  let journal: Buffer;
  try {
    journal = await fsp.readFile(journalPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { store, journalBytes: 0 };
  }
  // Fast path, the usual case after a clean stop: every line complete, so the whole journal is one JSON array
  // (JSON.stringify never writes a raw newline inside a record). One parse instead of one per record.
  const fast = parseWhole(journal);
  if (fast) {
    for (let i = 0; i < fast.length; i++) {
      const record = fast[i]!;
      if (record.seq <= snapshotSeq) continue;
      try {
        store.apply(record);
      } catch (error) {
        throw new StateCorruptError(`cannot replay ${journalPath} line ${i + 1}: ${(error as Error).message}`);
      }
    }
    return { store, journalBytes: journal.length };
  }

  // Every complete record ends with a newline. A crash mid-append can leave an unfinished last record (or,
  // in principle, several unreadable ones at the very end): those were never answered, so they are dropped.
  const lines = journal.toString('utf8').split('\n');
  let validBytes = 0;
  let repair = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const hasNewline = i < lines.length - 1;
    if (line === '') {
      if (hasNewline) validBytes += 1;
      continue;
    }
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
      if (!Number.isSafeInteger(record.seq)) throw new Error('record without a sequence number');
    } catch (error) {
      if (lines.slice(i + 1).every((rest) => rest.trim() === '' || !isJson(rest))) {
        repair = true;
        break;
      }
      throw new StateCorruptError(`cannot read ${journalPath} line ${i + 1}: ${(error as Error).message}`);
    }
    if (record.seq > snapshotSeq) {
      try {
        store.apply(record);
      } catch (error) {
        throw new StateCorruptError(`cannot replay ${journalPath} line ${i + 1}: ${(error as Error).message}`);
      }
    }
    validBytes += Buffer.byteLength(line, 'utf8') + (hasNewline ? 1 : 0);
    // A complete record whose newline was not written: keep it, and add the newline back below.
    if (!hasNewline) repair = true;
  }
  if (repair) {
    const fh = await fsp.open(journalPath, 'r+');
    try {
      await fh.truncate(validBytes);
      if (validBytes > 0) {
        const tail = Buffer.alloc(1);
        await fh.read(tail, 0, 1, validBytes - 1);
        if (tail.toString() !== '\n') {
          await fh.write('\n', validBytes);
          validBytes += 1;
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  return { store, journalBytes: validBytes };
}

/** The journal's records when every line is a complete record with a sequence number; undefined otherwise. */
function parseWhole(journal: Buffer): JournalRecord[] | undefined {
  if (journal.length === 0 || journal[journal.length - 1] !== 0x0a) return undefined;
  const text = journal.toString('utf8', 0, journal.length - 1);
  let records: unknown;
  try {
    records = JSON.parse(`[${text.replaceAll('\n', ',')}]`);
  } catch {
    return undefined; // a torn or damaged line, or an empty one: the careful path finds and reports it
  }
  if (!Array.isArray(records)) return undefined;
  for (const record of records) {
    if (typeof record !== 'object' || record === null || !Number.isSafeInteger((record as JournalRecord).seq)) return undefined;
  }
  return records as JournalRecord[];
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The journal writer: queues records, writes and fsyncs them in groups, compacts when the file grows. */
export class Journal {
  private queue: Pending[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private broken: Error | undefined;
  private closed = false;
  private assigned = 0;
  /** The last compaction failure, if any (the journal is still complete in that case). */
  compactError: Error | undefined;

  private constructor(
    private readonly dir: string,
    private fh: fsp.FileHandle,
    private journalBytes: number,
    readonly store: KeyStore,
    private readonly compactBytes: number,
  ) {}

  /** Opens (or creates) the state in `dir`, replaying what is there. */
  static async open(dir: string, opts: { compactBytes?: number } = {}): Promise<Journal> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // Temp files of a snapshot or admin-key write that a crash interrupted: never complete, never needed. The
    // `<file>.<pid>.tmp` names are what versions before writeFileAtomic left behind.
    for (const name of await fsp.readdir(dir)) {
      if (isAtomicTempFile(name) || /^[\w.-]+\.(?:json|admin-key)\.\d+\.tmp$/.test(name)) await fsp.rm(path.join(dir, name), { force: true });
    }
    const { store, journalBytes } = await replay(dir);
    const journalPath = path.join(dir, JOURNAL_FILE);
    let fh: fsp.FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted in place of the journal must not receive the records (they hold secrets).
      fh = await fsp.open(journalPath, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error;
      throw new StateCorruptError(`${journalPath} is a symbolic link; the emulator writes only files of its own there`, {
        hint: 'remove the link (and find out who planted it), or use another --state-dir',
      });
    }
    await fh.chmod(0o600);
    await fsyncDir(dir);
    return new Journal(dir, fh, journalBytes, store, opts.compactBytes ?? DEFAULT_COMPACT_BYTES);
  }

  /**
   * Makes `mutation` durable, then applies it to the store. Resolves only after the fsync that covers it, with
   * what applying it did (a mutation whose caller lost its rights meanwhile is refused, see `KeyStore.apply`).
   * Records are numbered and applied in the order `commit` is called.
   */
  commit(mutation: Mutation): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(new Error('the emulator state is closed'));
    if (this.broken) return Promise.reject(this.broken);
    const record = { ...mutation, seq: this.nextSeq() } as JournalRecord;
    return new Promise((resolve, reject) => {
      this.queue.push({ line: `${JSON.stringify(record)}\n`, record, resolve, reject });
      if (!this.running) {
        this.running = true;
        void this.drain();
      }
    });
  }

  /** Resolves once every record queued so far is durable. */
  flush(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes, then closes the journal file. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.fh.close();
  }

  /** Writes a snapshot now and empties the journal (also runs by itself when the journal grows). */
  async compact(): Promise<void> {
    while (this.running) await this.flush();
    this.running = true;
    try {
      await this.writeSnapshot();
    } finally {
      this.running = false;
      this.wakeIdle();
    }
  }

  private nextSeq(): number {
    this.assigned = Math.max(this.assigned, this.store.seq) + 1;
    return this.assigned;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const data = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
      try {
        if (this.broken) throw this.broken;
        for (let offset = 0; offset < data.length; ) {
          const { bytesWritten } = await this.fh.write(data, offset, data.length - offset);
          offset += bytesWritten;
        }
        await this.fh.datasync();
        this.journalBytes += data.length;
      } catch (error) {
        this.broken ??= new Error(`cannot write the emulator journal: ${(error as Error).message}`);
        for (const p of batch) p.reject(this.broken);
        continue;
      }
      for (const p of batch) {
        try {
          p.resolve(this.store.apply(p.record));
        } catch (error) {
          p.reject(error as Error);
        }
      }
      if (this.journalBytes >= this.compactBytes) {
        try {
          await this.writeSnapshot();
        } catch (error) {
          // The journal still holds everything; compaction will be tried again after the next batch.
          this.compactError = error as Error;
        }
      }
    }
    this.running = false;
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Snapshot of everything applied so far, then an empty journal; records queued meanwhile land in it. */
  private async writeSnapshot(): Promise<void> {
    const snapshotPath = path.join(this.dir, SNAPSHOT_FILE);
    await writeFileAtomic(snapshotPath, JSON.stringify(this.store.toSnapshot()), 0o600);
    // Records up to the snapshot's seq are skipped on replay, so a crash before this truncate is harmless.
    await this.fh.truncate(0);
    await this.fh.sync();
    this.journalBytes = 0;
    this.compactError = undefined;
  }
}
