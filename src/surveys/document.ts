import { languages, type Language } from '../ivr/flow.js';
import { mediaPattern } from '../ivr/nodes/kind.js';

/**
 * Post-call surveys as data (docs/surveys.md): the document shape and its
 * validation, pure. Every problem is reported at once, each naming its
 * field (`questions[1].scale`), as the IVR flows do.
 */

export const scales = ['1-5', '0-10', 'yes_no'] as const;
export type Scale = (typeof scales)[number];

export interface SurveyQuestion {
  /** A short name for reports and webhooks: letters, digits, _ and -. */
  id: string;
  prompt: string[];
  /** 1-5 (one key), 0-10 (NPS style: one or two keys, # or a pause ends), yes_no (1 yes, 2 no). */
  scale: Scale;
  /** Played after a key outside the scale, before asking again. */
  invalidPrompt?: string[];
  timeoutMs?: number;
  /** Times asked again after no key or a wrong one, before going on without an answer. */
  retries?: number;
}

export interface SurveyDocument {
  language?: Language;
  /** Played once, before the first question. */
  intro?: string[];
  questions: SurveyQuestion[];
  /** A recorded comment after the questions: a prompt, a beep, up to maxSeconds (# ends it). */
  comment?: { prompt: string[]; maxSeconds: number };
  thanks: string[];
}

export const maxQuestions = 5;

/** The answer a key sequence gives on a scale, or undefined when it is not one. */
export function answerOf(scale: Scale, keys: string): number | undefined {
  if (scale === 'yes_no') return keys === '1' ? 1 : keys === '2' ? 0 : undefined;
  if (!/^[0-9]{1,2}$/.test(keys)) return undefined;
  const value = Number(keys);
  return scale === '1-5' ? (keys.length === 1 && value >= 1 && value <= 5 ? value : undefined) : (value <= 10 && String(value) === keys ? value : undefined);
}

/**
 * Which answer each report measure reads: CSAT from the first 1-5 question
 * (% of 4 and 5), NPS from the first 0-10 question (% of 9-10 minus % of 0-6).
 */
export function measureOf(document: SurveyDocument, position: number): 'csat' | 'nps' | null {
  const question = document.questions[position - 1];
  if (!question) return null;
  const first = (scale: Scale) => document.questions.findIndex((q) => q.scale === scale) + 1;
  if (question.scale === '1-5' && first('1-5') === position) return 'csat';
  if (question.scale === '0-10' && first('0-10') === position) return 'nps';
  return null;
}

/** Every uploaded prompt (`prompt:<name>`) the survey plays, with the field that plays it. */
export function promptsOf(document: SurveyDocument): { field: string; name: string }[] {
  const found: { field: string; name: string }[] = [];
  const scan = (field: string, media: string[] | undefined) => {
    for (const m of media ?? []) if (m.startsWith('prompt:')) found.push({ field, name: m.slice('prompt:'.length) });
  };
  scan('intro', document.intro);
  document.questions.forEach((q, i) => { scan(`questions[${i}].prompt`, q.prompt); scan(`questions[${i}].invalidPrompt`, q.invalidPrompt); });
  scan('comment.prompt', document.comment?.prompt);
  scan('thanks', document.thanks);
  return found;
}

/** Every problem of a survey document; empty when it can be saved. */
export function validateSurvey(input: unknown): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => { if (!ok) problems.push(problem); };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return ['the survey must be a JSON object with questions and thanks'];
  const doc = input as Record<string, unknown>;
  const media = (field: string, value: unknown, required: boolean): void => {
    if (value === undefined && !required) return;
    if (!Array.isArray(value) || value.length === 0) return check(false, `${field} must be a non-empty list of media`);
    value.forEach((m, i) => check(typeof m === 'string' && mediaPattern.test(m),
      `${field}[${i}] is not playable media (sound:, prompt:, digits:, number:, characters: or tone:): ${JSON.stringify(m)}`));
  };
  const int = (field: string, value: unknown, min: number, max: number): void => {
    if (value !== undefined) check(Number.isInteger(value) && (value as number) >= min && (value as number) <= max, `${field} must be a whole number from ${min} to ${max}`);
  };
  const known = new Set(['language', 'intro', 'questions', 'comment', 'thanks']);
  for (const key of Object.keys(doc)) check(known.has(key), `${key} is not a survey field (${[...known].join(', ')})`);
  if (doc.language !== undefined) check((languages as readonly unknown[]).includes(doc.language), `language must be one of ${languages.join(', ')}`);
  media('intro', doc.intro, false);
  media('thanks', doc.thanks, true);
  const questions = doc.questions;
  if (!Array.isArray(questions) || questions.length === 0 || questions.length > maxQuestions) {
    check(false, `questions must be a list of 1 to ${maxQuestions} questions`);
  } else {
    const ids = new Set<string>();
    questions.forEach((q: unknown, i) => {
      const at = `questions[${i}]`;
      if (typeof q !== 'object' || q === null || Array.isArray(q)) return check(false, `${at} must be an object`);
      const question = q as Record<string, unknown>;
      const fields = new Set(['id', 'prompt', 'scale', 'invalidPrompt', 'timeoutMs', 'retries']);
      for (const key of Object.keys(question)) check(fields.has(key), `${at}.${key} is not a question field (${[...fields].join(', ')})`);
      const id = question.id;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(id)) check(false, `${at}.id must be 1 to 40 letters, digits, _ or -`);
      else {
        check(!ids.has(id), `${at}.id ${id} is used by an earlier question`);
        ids.add(id);
      }
      check((scales as readonly unknown[]).includes(question.scale), `${at}.scale must be one of ${scales.join(', ')}`);
      media(`${at}.prompt`, question.prompt, true);
      media(`${at}.invalidPrompt`, question.invalidPrompt, false);
      int(`${at}.timeoutMs`, question.timeoutMs, 1000, 30_000);
      int(`${at}.retries`, question.retries, 0, 5);
    });
  }
  if (doc.comment !== undefined) {
    const comment = doc.comment as Record<string, unknown>;
    if (typeof comment !== 'object' || comment === null || Array.isArray(comment)) check(false, 'comment must be an object with prompt and maxSeconds');
    else {
      media('comment.prompt', comment.prompt, true);
      check(comment.maxSeconds !== undefined, 'comment.maxSeconds is required');
      int('comment.maxSeconds', comment.maxSeconds, 3, 300);
      for (const key of Object.keys(comment)) check(key === 'prompt' || key === 'maxSeconds', `comment.${key} is not a comment field (prompt, maxSeconds)`);
    }
  }
  return problems;
}
