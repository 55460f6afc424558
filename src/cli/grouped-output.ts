/**
 * Deterministic output for work that runs concurrently: each project writes into its own section, and the
 * sections reach the terminal in a fixed order (the order they were declared in), never interleaved. The
 * section at the head streams live; later ones are held until every earlier one is finished.
 */
import type { Io } from './io';

/** Where one section writes: the same shape as Io's writers. */
export interface SectionWriter {
  out(text: string): void;
  err(text: string): void;
}

interface Section {
  held: { stream: 'out' | 'err'; text: string }[];
  finished: boolean;
}

/** Output split into ordered sections; see the module comment. */
export class GroupedOutput {
  private readonly sections: Section[] = [];
  private head = 0;

  constructor(
    private readonly io: Pick<Io, 'out' | 'err'>,
    count: number,
  ) {
    for (let i = 0; i < count; i++) this.sections.push({ held: [], finished: false });
  }

  /** The writer of section `index` (0-based, in display order). */
  section(index: number): SectionWriter {
    const write = (stream: 'out' | 'err') => (text: string) => {
      if (index === this.head) this.emit(stream, text);
      else this.sections[index]!.held.push({ stream, text });
    };
    return { out: write('out'), err: write('err') };
  }

  /** Marks section `index` finished; everything it held (and finished sections after it) is written now. */
  finish(index: number): void {
    this.sections[index]!.finished = true;
    while (this.head < this.sections.length) {
      const s = this.sections[this.head]!;
      for (const { stream, text } of s.held.splice(0)) this.emit(stream, text);
      if (!s.finished) break;
      this.head++;
    }
  }

  /** Writes whatever is still held (after a crash part-way, so nothing is silently lost). */
  finishAll(): void {
    for (let i = 0; i < this.sections.length; i++) if (!this.sections[i]!.finished) this.finish(i);
  }

  private emit(stream: 'out' | 'err', text: string): void {
    if (stream === 'out') this.io.out(text);
    else this.io.err(text);
  }
}
