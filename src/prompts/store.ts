import { sql, type Generated, type Kysely, type Selectable } from 'kysely';

export interface PromptsTable {
  name: string;
  duration_ms: number;
  original_format: string;
  size_bytes: number;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface PromptsTables { prompts: PromptsTable }
export type PromptRow = Selectable<PromptsTable>;
export type PromptValues = Pick<PromptRow, 'name' | 'duration_ms' | 'original_format' | 'size_bytes'>;

export class PromptsStore {
  constructor(private readonly db: Kysely<PromptsTables>) {}

  list(): Promise<PromptRow[]> {
    return this.db.selectFrom('prompts').selectAll().orderBy('name').execute();
  }

  get(name: string): Promise<PromptRow | undefined> {
    return this.db.selectFrom('prompts').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /**
   * Inserts or replaces a prompt's row, running `beforeCommit` (putting its
   * file in place) inside the transaction: if that fails the row is not
   * changed, and the row lock keeps two uploads of one name in step, so the
   * file on disk and its row always come from the same upload.
   */
  save(values: PromptValues, beforeCommit: () => Promise<void>): Promise<PromptRow> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('prompts').values(values)
        .onConflict((oc) => oc.column('name').doUpdateSet({
          duration_ms: values.duration_ms, original_format: values.original_format, size_bytes: values.size_bytes, updated_at: sql<Date>`now()`,
        }))
        .returningAll().executeTakeFirstOrThrow();
      await beforeCommit();
      return row;
    });
  }

  /** Deletes the row, running `beforeCommit` (removing the file) inside the transaction; undefined when there was none. */
  remove(name: string, beforeCommit: () => Promise<void>): Promise<PromptRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.deleteFrom('prompts').where('name', '=', name).returningAll().executeTakeFirst();
      if (row) await beforeCommit();
      return row;
    });
  }
}
