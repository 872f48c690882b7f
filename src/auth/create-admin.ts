import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashPassword, passwordRules } from './passwords.js';
import type { AuthTables } from './store.js';
import { UsersStore } from './users-store.js';

export const usernamePattern = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * `centralita create-admin NAME`: the first person who signs in to the
 * pages, made without the API (the other way is the configured admin token:
 * `POST /api/v1/users`). Refused once any admin user exists, so that it
 * cannot be used to take over a running center. Returns the user's id.
 */
export async function createFirstAdmin(db: Kysely<AuthTables>, username: string, password: string): Promise<string> {
  if (!usernamePattern.test(username)) throw new Error(`the name must be 1 to 64 letters, digits or . _ @ - (not ${JSON.stringify(username.slice(0, 80))})`);
  if (password.length < passwordRules.minLength || password.length > passwordRules.maxLength) {
    throw new Error(`the password must be ${passwordRules.minLength} to ${passwordRules.maxLength} characters`);
  }
  const store = new UsersStore(db);
  if (await store.hasAdmin()) throw new Error('an admin user exists already: sign in as that admin to add users');
  if (await store.byName(username)) throw new Error(`a user named ${username} exists`);
  const now = new Date();
  const row = await store.insertUser({
    id: randomUUID(), username, role: 'admin', agent_id: null, password_hash: await hashPassword(password),
    active: true, created_at: now, password_changed_at: now,
  });
  return row.id;
}
