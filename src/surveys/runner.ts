import { randomUUID } from 'node:crypto';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Media } from '../asterisk/media.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { Language } from '../ivr/flow.js';
import { answerOf, measureOf, type SurveyDocument, type SurveyQuestion } from './document.js';
import type { SurveysStore } from './store.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A caller went through a whole survey (webhooks: survey.completed). */
    'survey.completed': {
      responseId: string; surveyId: string; surveyVersion: number; callId: string; queueId: string | null; agentId: string | null;
      answers: { position: number; question: string; scale: string; value: number }[]; commentRecordingId: string | null; at: string;
    };
  }
}

/** What a survey needs recorded for a comment: a recording of its own kind (the recordings capability). */
export type RecordComment = (comment: { recordingId: string; callId: string; channelId: string; queueId: string | null; maxSeconds: number }) => Promise<unknown>;

/** One survey put to one caller. `from`: the question to start at (a restart goes on after the last answer). */
export interface SurveySession {
  responseId: string;
  surveyId: string;
  version: number;
  document: SurveyDocument;
  callId: string;
  channelId: string;
  entryId: string | null;
  queueId: string | null;
  agentId: string | null;
  language: Language;
  /** 1-based; past the last question: straight to the comment (when not recorded yet) and thanks. */
  from: number;
  answers: { position: number; question: string; scale: string; value: number }[];
  commentRecordingId: string | null;
}

export interface RunnerDeps {
  digits: DigitCollector;
  media: Media;
  store: SurveysStore;
  writes: WriteQueue;
  bus: EventBus;
  logger: Logger;
  promptMedia: (name: string) => string;
  recordComment: RecordComment;
  /** Whether centralita's connection to Asterisk is up: a survey cut by its loss is taken up again, not ended. */
  connected: () => boolean;
}

/** What a caller hears when a key is not on the scale, unless the question says otherwise. */
const defaultInvalid = ['sound:option-is-invalid'];

/**
 * Plays a survey to a caller and stores each answer as it is keyed, through
 * the write queue (a caller who hangs up halfway leaves the answers given;
 * a restart or a database outage loses none). Ends when the caller hangs up
 * or the thank-you has played; the caller's channel is the caller's route's
 * to hang up.
 */
export class SurveyRunner {
  /** Responses being played now (a reconnection's reconcile leaves them alone). */
  private readonly running = new Set<string>();

  constructor(private readonly d: RunnerDeps) {}

  isRunning(responseId: string): boolean {
    return this.running.has(responseId);
  }

  /** A new response row for a survey offered now; the caller's session to run. */
  offer(base: Omit<SurveySession, 'responseId' | 'from' | 'answers' | 'commentRecordingId'>, mode: 'always' | 'opt_in'): SurveySession {
    const session: SurveySession = { ...base, responseId: randomUUID(), from: 1, answers: [], commentRecordingId: null };
    this.write(session, 'offered', this.d.store.insertResponse({
      id: session.responseId, survey_id: base.surveyId, survey_version: base.version, call_id: base.callId, channel_id: base.channelId,
      entry_id: base.entryId, queue_id: base.queueId, agent_id: base.agentId, mode, language: base.language, offered_at: new Date(), completed_at: null, comment_recording_id: null,
    }));
    return session;
  }

  /** Takes a response to run (false: it is running already): claimed in the same tick as asked, so two reconciliations cannot both run it. */
  claim(responseId: string): boolean {
    if (this.running.has(responseId)) return false;
    this.running.add(responseId);
    return true;
  }

  release(responseId: string): void {
    this.running.delete(responseId);
  }

  /**
   * Runs the session (claimed or not); 'gone' when the caller hung up before
   * the end, 'interrupted' when the connection to Asterisk went (the caller
   * may still be there: the reconciliation at the reconnection goes on).
   */
  async run(session: SurveySession): Promise<'completed' | 'gone' | 'interrupted'> {
    this.running.add(session.responseId);
    try {
      const outcome = await this.play(session);
      return outcome === 'gone' && !this.d.connected() ? 'interrupted' : outcome;
    } finally {
      this.running.delete(session.responseId);
    }
  }

  private async play(s: SurveySession): Promise<'completed' | 'gone'> {
    const { digits, media } = this.d;
    const doc = s.document;
    const lang = doc.language ?? s.language;
    const resolve = (items: string[]) => items.map((m) => (m.startsWith('prompt:') ? this.d.promptMedia(m.slice('prompt:'.length)) : m));
    digits.track(s.channelId);
    // Keys pressed during the call (to the agent, to the IVR) are not answers.
    digits.discardTyped(s.channelId);
    if (s.from === 1 && doc.intro && (await digits.playInterruptible(s.channelId, resolve(doc.intro), lang)) === 'gone') return 'gone';
    for (let position = s.from; position <= doc.questions.length; position += 1) {
      const question = doc.questions[position - 1]!;
      const value = await this.ask(s, question, lang, resolve);
      if (value === null) return 'gone';
      if (value === undefined) continue;
      const answer = { position, question: question.id, scale: question.scale, value };
      s.answers.push(answer);
      this.write(s, `answer ${position}`, this.d.store.insertAnswer({
        response_id: s.responseId, position, question: question.id, scale: question.scale, measure: measureOf(doc, position), value, answered_at: new Date(),
      }));
    }
    const comment = doc.comment;
    if (comment && !s.commentRecordingId) {
      if ((await media.playToEnd(s.channelId, resolve(comment.prompt), lang)) === 'channel_gone') return 'gone';
      // The response names its comment before the recording starts: a restart mid-comment finds both.
      const recordingId = randomUUID();
      s.commentRecordingId = recordingId;
      this.write(s, 'comment', this.d.store.updateResponse(s.responseId, { comment_recording_id: recordingId }));
      // The recording's end event lost (the connection dropped) must not leave the caller in silence: at most maxSeconds and a margin.
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((done) => { timer = setTimeout(done, (comment.maxSeconds + 5) * 1000); });
      await Promise.race([limit, this.d.recordComment({ recordingId, callId: s.callId, channelId: s.channelId, queueId: s.queueId, maxSeconds: comment.maxSeconds })])
        .catch((err: unknown) => this.d.logger.error({ err, responseId: s.responseId }, 'the survey comment could not be recorded'));
      clearTimeout(timer);
      if (!this.d.connected()) return 'gone';
    }
    const thanked = await media.playToEnd(s.channelId, resolve(doc.thanks), lang);
    // A thank-you cut by the loss of the connection is not a completed survey (a playback that failed by itself is).
    if (thanked === 'channel_gone' || !this.d.connected()) return 'gone';
    const at = new Date();
    this.write(s, 'completed', this.d.store.updateResponse(s.responseId, { completed_at: at }));
    this.d.bus.emit('survey.completed', {
      responseId: s.responseId, surveyId: s.surveyId, surveyVersion: s.version, callId: s.callId, queueId: s.queueId, agentId: s.agentId,
      answers: s.answers, commentRecordingId: s.commentRecordingId, at: at.toISOString(),
    });
    return 'completed';
  }

  /** One question: the value keyed; undefined when none came right after the retries; null when the caller hung up. */
  private async ask(s: SurveySession, question: SurveyQuestion, lang: Language, resolve: (items: string[]) => string[]): Promise<number | undefined | null> {
    const attempts = (question.retries ?? 2) + 1;
    // 0-10 takes one or two keys: # (or a pause) ends a single one.
    const options = question.scale === '0-10'
      ? { maxDigits: 2, timeoutMs: question.timeoutMs ?? 5000, terminator: '#' as const, lang }
      : { maxDigits: 1, timeoutMs: question.timeoutMs ?? 5000, terminator: null, lang };
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const keys = await this.d.digits.collect(s.channelId, resolve(question.prompt), options);
      if (keys === null) return null;
      const value = answerOf(question.scale, keys);
      if (value !== undefined) return value;
      if (keys !== '' && attempt < attempts && (await this.d.digits.playInterruptible(s.channelId, resolve(question.invalidPrompt ?? defaultInvalid), lang)) === 'gone') return null;
    }
    return undefined;
  }

  private write(s: SurveySession, what: string, op: WriteOp): void {
    void this.d.writes.enqueue(`survey ${s.responseId} ${what}`, op).catch((err: unknown) => {
      this.d.logger.error({ err, responseId: s.responseId }, `the survey's ${what} was not stored`);
    });
  }
}
