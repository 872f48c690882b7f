import { isSupportedCountry, parsePhoneNumberWithError, ParseError, type CountryCode } from 'libphonenumber-js/max';

/**
 * Phone numbers as people write them (`612 34 56 78`, `+52 55 1234 5678`,
 * `0034 612…`) to E.164 (`+34612345678`), with libphonenumber-js and its
 * full metadata ("max": every country's number patterns, so `isValid` knows
 * which ranges exist, not only their lengths). The metadata ships with the
 * package: a new numbering plan arrives with an update of it.
 */

const parseProblems: Record<string, string> = {
  NOT_A_NUMBER: 'is not a phone number',
  INVALID_COUNTRY: 'has no country code (+…) and no default region applies',
  TOO_SHORT: 'is too short',
  TOO_LONG: 'is too long',
  INVALID_LENGTH: 'has a length no number of its country has',
};

/** An ISO 3166 country code libphonenumber knows (upper case), or undefined. */
export function regionOf(text: string): CountryCode | undefined {
  const upper = text.toUpperCase();
  return isSupportedCountry(upper) ? upper : undefined;
}

/** A number read: E.164, its country and its national significant number (what the time-zone rule reads). */
export interface PhoneParts { number: string; country: CountryCode | undefined; national: string }

/** The number in E.164 with its parts, or what is wrong with it (a phrase: "is too short"). */
export function toE164(raw: string, region: CountryCode | undefined): PhoneParts | { problem: string } {
  const text = raw.trim();
  if (text === '') return { problem: 'is empty' };
  try {
    const parsed = parsePhoneNumberWithError(text, region);
    if (!parsed.isValid()) return { problem: `is not a valid number${parsed.country ? ` of ${parsed.country}` : region ? ` of ${region}` : ''}` };
    return { number: parsed.number, country: parsed.country, national: parsed.nationalNumber };
  } catch (err) {
    if (err instanceof ParseError) return { problem: parseProblems[err.message] ?? `cannot be read (${err.message})` };
    throw err;
  }
}

/** The parts of an E.164 number (undefined for one libphonenumber cannot read). */
export function partsOf(e164: string): PhoneParts | undefined {
  try {
    const parsed = parsePhoneNumberWithError(e164);
    return { number: parsed.number, country: parsed.country, national: parsed.nationalNumber };
  } catch {
    // Stored numbers were written by toE164; anything else has no country to tell.
    return undefined;
  }
}
