import { describe, expect, it } from 'vitest';
import { classifyKeyword, inboundE164, isOptOutError, normalizeKeyword } from './opt-out.ts';

describe('classifyKeyword', () => {
  it('recognises STOP words in any case, accents and surrounding punctuation, in several languages', () => {
    for (const text of [
      'STOP',
      'stop',
      ' Stop. ',
      'STOPALL',
      'Unsubscribe',
      'cancel',
      'END',
      'quit!',
      'Arrêt',
      'ARRET',
      'baja',
      'Stopp',
      'opt out',
    ]) {
      expect(classifyKeyword(text), text).toBe('stop');
    }
  });

  it('recognises START words', () => {
    for (const text of ['START', 'start', 'Unstop', 'YES', 'yes!']) expect(classifyKeyword(text), text).toBe('start');
  });

  it('ignores sentences that merely contain a keyword', () => {
    for (const text of ['please stop', 'STOP IT NOW', 'yes please', 'what is this', '', 'STARTED'])
      expect(classifyKeyword(text), text).toBeUndefined();
  });

  it('normalises whitespace and accents', () => {
    expect(normalizeKeyword('  opt\t out…')).toBe('OPT OUT');
    expect(normalizeKeyword('Démarrer')).toBe('DEMARRER');
  });
});

describe('isOptOutError', () => {
  it('is true for Twilio 21610 as a permanent recipient error only', () => {
    expect(isOptOutError('twilio', { kind: 'permanent', scope: 'recipient', providerCode: '21610' })).toBe(true);
    expect(isOptOutError('twilio', { kind: 'permanent', scope: 'recipient', providerCode: '21211' })).toBe(false);
    expect(isOptOutError('twilio', { kind: 'retryable', scope: 'provider', providerCode: '21610' })).toBe(false);
    expect(isOptOutError('sinch', { kind: 'permanent', scope: 'recipient', providerCode: '21610' })).toBe(false);
  });
});

describe('inboundE164', () => {
  it('accepts carriers’ spellings of a sender and refuses what is not a number', () => {
    expect(inboundE164('+14155550100')).toBe('+14155550100');
    expect(inboundE164('14155550100')).toBe('+14155550100');
    expect(inboundE164('0031612345678')).toBe('+31612345678');
    expect(inboundE164('MyBrand')).toBeUndefined();
  });
});
