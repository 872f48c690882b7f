import type { Announcements } from './store.js';

/**
 * Estimated wait of a caller at `position`: the queue's recent handle time
 * for each caller ahead and this one, shared by the agents staffing the
 * queue (checked in, whatever their state), in whole minutes, at least one.
 * Null when there is no recent answered call to go by.
 */
export function estimateMinutes(position: number, recentHandleSeconds: number | null, staffed: number): number | null {
  if (recentHandleSeconds === null || !(recentHandleSeconds > 0) || position < 1) return null;
  const seconds = (recentHandleSeconds * position) / Math.max(1, staffed);
  return Math.max(1, Math.ceil(seconds / 60));
}

/** What a waiting caller hears: their position (unless turned off) and the estimate (when asked for and known). */
export function announcementMedia(position: number, settings: Announcements, estimate: number | null): string[] {
  const media: string[] = [];
  if (settings.position !== false) {
    media.push(...(position === 1 ? ['sound:queue-youarenext'] : ['sound:queue-thereare', `number:${position - 1}`, 'sound:queue-callswaiting']));
  }
  if (settings.estimate && estimate !== null) {
    media.push('sound:queue-holdtime', `number:${estimate}`, estimate === 1 ? 'sound:queue-minute' : 'sound:queue-minutes');
  }
  return media;
}
