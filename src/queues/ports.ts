import type { IvrCall } from '../ivr/engine.js';
import type { Language } from '../ivr/flow.js';
import type { SurveyOffer } from './survey-offer.js';

/**
 * What the queues need from other capabilities, given at construction
 * (app.ts): the queues never import those capabilities' services.
 */
export interface QueueEnginePorts {
  /** Runs an IVR flow for an overflow into a flow (the IVR). */
  runFlow(call: IvrCall, flowId: string): Promise<void | 'released'>;
  /** Notes an event on the call's record (the calls capability). */
  noteCallEvent(channelId: string, type: string, detail: Record<string, unknown>): void;
  /** The same by the call's id: also once the call has ended (a wrap-up code set in wrap-up). */
  noteEventOfCall(callId: string, type: string, detail: Record<string, unknown>): void;
  /** A leg placed for a call (a consult's colleague): a call of its own, tied to that call (the calls capability). */
  legStarted(leg: { channelId: string; parentCallId: string; callerNumber: string; calledNumber: string; at: Date }): void;
  legAnswered(channelId: string): void;
  /**
   * The agent hung up first: the caller's post-call survey, when they get
   * one (the surveys): the run that takes the caller, or undefined.
   */
  afterCall(end: CallEnd): Promise<PostCallSurvey | undefined>;
}

/** A queue call whose agent hung up first: what decides whether its caller is surveyed. */
export interface CallEnd {
  callId: string; channelId: string; did: string; entryId: string; queueId: string; queueSurvey: SurveyOffer | null; agentId: string; language: Language;
}

/**
 * The survey a caller is taken to: `begin` records the offer (before the
 * queue lets the caller go, so that a restart finds them in it), `play`
 * runs it once the caller is out of the agent's bridge.
 */
export interface PostCallSurvey {
  begin(): void;
  /** 'interrupted': the connection to Asterisk went while it played (the caller may still be there: reconcile takes them up). */
  play(): Promise<'completed' | 'gone' | 'interrupted'>;
}

export interface QueuesServicePorts {
  /** Whether an IVR flow exists, for overflows into a flow (the IVR). */
  flowExists(flowId: string): Promise<boolean>;
  /** Whether a call has a record (the calls capability): tells "not connected now" from "no such call". */
  callExists(callId: string): Promise<boolean>;
  /** A call's caller number: undefined for no such call, '' when it has none (the calls capability). */
  callerOf(callId: string): Promise<string | undefined>;
  /** Whether a survey exists, for a queue's survey offer (the surveys). */
  surveyExists(surveyId: string): Promise<boolean>;
}
