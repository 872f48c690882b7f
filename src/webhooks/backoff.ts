/**
 * When a failed delivery is tried again: exponential backoff from `baseMs`
 * (doubling per attempt, at most an hour apart) with jitter on the upper
 * half, so that receivers coming back are not hit by every sender at once;
 * null once the delivery was made (`since`: its row's creation, so a replay
 * of old events gets its own time) longer than `giveUpMs` ago: dead.
 * Pure: `random` in [0, 1).
 */
export function nextAttempt(options: { attempts: number; since: Date; now: Date; baseMs: number; giveUpMs: number; random: number }): Date | null {
  const { attempts, since, now, baseMs, giveUpMs, random } = options;
  const deadline = since.getTime() + giveUpMs;
  if (now.getTime() >= deadline) return null;
  const ceiling = Math.min(baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30), 3_600_000);
  const wait = ceiling / 2 + (ceiling / 2) * random;
  // The last try is made at the deadline itself, not skipped.
  return new Date(Math.min(now.getTime() + wait, deadline));
}
