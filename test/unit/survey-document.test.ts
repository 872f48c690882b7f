import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerOf, measureOf, promptsOf, validateSurvey, type SurveyDocument } from '../../src/surveys/document.js';
import { sampled } from '../../src/queues/survey-offer.js';

const good: SurveyDocument = {
  language: 'es',
  intro: ['sound:beep'],
  questions: [
    { id: 'agent', prompt: ['prompt:q-agent'], scale: '1-5' },
    { id: 'recommend', prompt: ['tone:440/500'], scale: '0-10' },
    { id: 'solved', prompt: ['sound:x'], scale: 'yes_no', retries: 1 },
    { id: 'again', prompt: ['sound:x'], scale: '1-5' },
  ],
  comment: { prompt: ['sound:vm-intro'], maxSeconds: 30 },
  thanks: ['sound:auth-thankyou'],
};

describe('survey documents (surveys/document.ts)', () => {
  it('accepts a full survey and lists the uploaded prompts it plays with their field', () => {
    assert.deepEqual(validateSurvey(good), []);
    assert.deepEqual(promptsOf(good), [{ field: 'questions[0].prompt', name: 'q-agent' }]);
  });

  it('reports every problem at once, each naming its field', () => {
    const problems = validateSurvey({
      language: 'fr', thanks: [], extra: 1,
      questions: [{ id: 'a b', prompt: ['nope:x'], scale: '1-7', timeoutMs: 10 }, { id: 'x', prompt: ['sound:x'], scale: '1-5', colour: 'red' }, { id: 'x', prompt: ['sound:x'], scale: 'yes_no' }],
      comment: { prompt: ['sound:x'], maxSeconds: 1000 },
    });
    for (const expected of [
      /^extra is not a survey field/, /^language must be one of es, en/, /^thanks must be a non-empty list/,
      /^questions\[0\]\.id must be/, /^questions\[0\]\.scale must be one of 1-5, 0-10, yes_no/, /^questions\[0\]\.prompt\[0\] is not playable media/,
      /^questions\[0\]\.timeoutMs must be a whole number from 1000/, /^questions\[1\]\.colour is not a question field/,
      /^questions\[2\]\.id x is used by an earlier question/, /^comment\.maxSeconds must be a whole number from 3 to 300/,
    ]) assert.ok(problems.some((p) => expected.test(p)), `${expected} in ${JSON.stringify(problems)}`);
    assert.deepEqual(validateSurvey({ questions: [], thanks: ['sound:x'] }), ['questions must be a list of 1 to 5 questions']);
    assert.equal(validateSurvey({ questions: Array.from({ length: 6 }, (_, i) => ({ id: `q${i}`, prompt: ['sound:x'], scale: '1-5' })), thanks: ['sound:x'] }).length, 1);
    assert.deepEqual(validateSurvey([]), ['the survey must be a JSON object with questions and thanks']);
  });

  it('reads keys on each scale: 1-5 one key, 0-10 one or two, yes_no 1 or 2', () => {
    assert.deepEqual(['1', '5', '0', '6', '12', '', '#'].map((k) => answerOf('1-5', k)), [1, 5, undefined, undefined, undefined, undefined, undefined]);
    assert.deepEqual(['0', '9', '10', '11', '07', '*'].map((k) => answerOf('0-10', k)), [0, 9, 10, undefined, undefined, undefined]);
    assert.deepEqual(['1', '2', '3'].map((k) => answerOf('yes_no', k)), [1, 0, undefined]);
  });

  it('reads CSAT from the first 1-5 question and NPS from the first 0-10 one', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((p) => measureOf(good, p)), ['csat', 'nps', null, null, null]);
  });

  it('samples always-offers by their percentage; opt-in callers were sampled at the IVR', () => {
    const offer = { surveyId: 'x', mode: 'always' as const, samplePercent: 30 };
    assert.equal(sampled(offer, 29.9), true);
    assert.equal(sampled(offer, 30), false);
    assert.equal(sampled({ ...offer, samplePercent: 0 }, 0), false);
    assert.equal(sampled({ ...offer, mode: 'opt_in', samplePercent: 0 }, 99), true);
  });
});
