import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError, badRequest, conflict, notFound } from '../core/errors.js';
import type { PromptRow, PromptsStore } from './store.js';
import { InvalidAudioError, parseWav, type TelephoneWav } from './wav.js';
import { toTelephoneWavOffThread } from './wav-worker.js';

/** A flow that plays a prompt. */
/** A flow or a survey that plays a prompt (its id, and its name with what it is: "flow x", "survey y"). */
export interface PromptUser { flowId?: string; surveyId?: string; campaignId?: string; name: string }

export const promptNamePattern = '^[a-z0-9][a-z0-9_-]{0,63}$';
const promptNameRegExp = new RegExp(promptNamePattern);

export const isPromptName = (name: string): boolean => promptNameRegExp.test(name);

/**
 * The media URI Asterisk plays an uploaded prompt by. The prompts folder is
 * mounted as sounds/centralita-prompts in Asterisk's sounds folder (the lab
 * bind-mounts it), so the file <promptsDir>/<name>.wav is found there.
 * Throws for a name that is not a prompt name, so nothing else can be
 * smuggled into a media URI.
 */
export function promptMedia(name: string): string {
  if (!isPromptName(name)) throw new Error(`not a prompt name: ${JSON.stringify(name)}`);
  return `sound:centralita-prompts/${name}`;
}

export interface PromptView {
  name: string;
  durationMs: number;
  /** What was uploaded, e.g. "PCM 16-bit, 44100 Hz, stereo"; the file is always 8 kHz mono 16-bit PCM. */
  originalFormat: string;
  sizeBytes: number;
  media: string;
  createdAt: string;
  updatedAt: string;
}

const promptView = (row: PromptRow): PromptView => ({
  name: row.name, durationMs: row.duration_ms, originalFormat: row.original_format, sizeBytes: row.size_bytes,
  media: promptMedia(row.name), createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
});

const ignoreMissing = (err: unknown): void => {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
};

/**
 * Prompts uploaded for the IVR: converted to 8 kHz mono WAV files in the
 * prompts folder, described by rows of the prompts table. A file is put in
 * place by renaming a finished temporary file, so Asterisk never plays a
 * half-written one.
 */
export class PromptsService {
  constructor(
    private readonly store: PromptsStore,
    private readonly dir: string,
    /** Which IVR flows (their current versions) play each prompt: the IVR's answer (a late port, the IVR is built after). */
    private readonly usage: () => Promise<Map<string, PromptUser[]>> = async () => new Map(),
  ) {}

  /** The flows that play each prompt now, by prompt name (a prompt no flow plays is absent). */
  async usedBy(): Promise<Map<string, PromptUser[]>> {
    return this.usage();
  }

  async list(): Promise<PromptView[]> {
    return (await this.store.list()).map(promptView);
  }

  async get(name: string): Promise<PromptView> {
    return promptView(await this.require(name));
  }

  /** Whether a prompt of that name has been uploaded (for checking what an IVR refers to). */
  async exists(name: string): Promise<boolean> {
    return isPromptName(name) && (await this.store.get(name)) !== undefined;
  }

  /** The prompt's WAV file as Asterisk plays it. */
  async audio(name: string): Promise<Buffer> {
    await this.require(name);
    return readFile(this.fileOf(name));
  }

  /**
   * Stores a WAV under `name`, replacing any prompt of that name. Audio that
   * cannot be converted is refused with 400 invalid_audio, and nothing is
   * stored.
   */
  async upload(name: string, file: Buffer): Promise<PromptView> {
    const target = this.fileOf(name);
    let converted: TelephoneWav;
    try {
      // The header is read here (cheap) so bad audio is refused at once; the
      // resampling, seconds for a large file, runs in a worker thread so it
      // does not hold the calls up (the upload's buffer goes with it).
      parseWav(file);
      converted = await toTelephoneWavOffThread(file);
    } catch (err) {
      if (err instanceof InvalidAudioError) throw new HttpError(400, 'invalid_audio', err.message);
      throw err;
    }
    await mkdir(this.dir, { recursive: true });
    // A name Asterisk cannot take for a sound (no .wav), in the same folder so the rename is atomic.
    const temporary = join(this.dir, `.${name}.${randomUUID()}.tmp`);
    try {
      await writeFile(temporary, converted.wav);
      await chmod(temporary, 0o644);
      const row = await this.store.save(
        { name, duration_ms: converted.durationMs, original_format: converted.originalFormat, size_bytes: converted.wav.length },
        () => rename(temporary, target),
      );
      return promptView(row);
    } finally {
      await unlink(temporary).catch(ignoreMissing);
    }
  }

  /** Deletes a prompt; refused (409) while a flow plays it: the flow would play nothing there. */
  async remove(name: string): Promise<PromptView> {
    const target = this.fileOf(name);
    const users = (await this.usage()).get(name) ?? [];
    if (users.length > 0) throw conflict(`prompt ${name} is played by ${users.map((u) => (u.surveyId ? `the survey ${u.name}` : u.campaignId ? `the campaign ${u.name}` : `the IVR flow ${u.name}`)).join(', ')}: change ${users.length > 1 ? 'them' : 'it'} first`);
    const row = await this.store.remove(name, () => unlink(target).catch(ignoreMissing));
    if (!row) throw notFound(`prompt ${name}`);
    return promptView(row);
  }

  private fileOf(name: string): string {
    if (!isPromptName(name)) throw badRequest(`${JSON.stringify(name)} is not a prompt name (${promptNamePattern})`);
    return join(this.dir, `${name}.wav`);
  }

  private async require(name: string): Promise<PromptRow> {
    const row = isPromptName(name) ? await this.store.get(name) : undefined;
    if (!row) throw notFound(`prompt ${name}`);
    return row;
  }
}
