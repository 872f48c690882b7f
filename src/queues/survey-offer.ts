import { Type } from 'typebox';
import { Nullable, StringEnum, Uuid } from '../core/schemas.js';

/**
 * How a queue or a DID route offers its post-call survey (docs/surveys.md):
 * `always`, to a sample of the callers whose agent hung up first; `opt_in`,
 * to callers who said yes at the IVR's surveyOptIn node (which samples).
 */
export interface SurveyOffer { surveyId: string; mode: 'always' | 'opt_in'; samplePercent: number }

export const SurveyOfferSchema = Nullable(Type.Object({
  surveyId: Uuid(),
  mode: StringEnum(['always', 'opt_in'] as const, { description: 'always: when the agent hangs up first; opt_in: callers who said yes at the IVR (surveyOptIn node)' }),
  samplePercent: Type.Integer({ minimum: 0, maximum: 100, description: 'the share of calls offered the survey (always); opt_in callers are sampled by their IVR node' }),
}, { additionalProperties: false }), { description: 'the post-call survey; null: none' });

/** Whether a caller is offered the survey, by the offer's sample (`draw` in [0, 100)). */
export function sampled(offer: SurveyOffer, draw = Math.random() * 100): boolean {
  return offer.mode === 'opt_in' || draw < offer.samplePercent;
}
