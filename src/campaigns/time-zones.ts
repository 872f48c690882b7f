import type { CountryCode } from 'libphonenumber-js/max';
import { partsOf, type PhoneParts } from './phone.js';

/**
 * A contact's time zone (docs/campaigns.md, "Time zones"). libphonenumber
 * tells a number's country, not its zone, so:
 * 1. the contact's own `timezone` column, when the file gives one;
 * 2. else the number's country when it has one zone (a table below), with
 *    the few regions of a country that keep another clock told by their
 *    prefix (Spain's Canary Islands, Portugal's Azores and Madeira);
 * 3. else, for the large countries with several zones, a short table of
 *    area codes (the biggest cities of the US and Canada, Mexico's,
 *    Brazil's DDD codes west of Brasília time);
 * 4. else the campaign's default time zone.
 * Mobile numbers carry no place: a Spanish mobile is Madrid's clock, even
 * in Tenerife (give the `timezone` column where that matters).
 */

const singleZone: Partial<Record<CountryCode, string>> = {
  ES: 'Europe/Madrid', PT: 'Europe/Lisbon', FR: 'Europe/Paris', DE: 'Europe/Berlin', IT: 'Europe/Rome', GB: 'Europe/London',
  GG: 'Europe/Guernsey', JE: 'Europe/Jersey', IM: 'Europe/Isle_of_Man', IE: 'Europe/Dublin', NL: 'Europe/Amsterdam',
  BE: 'Europe/Brussels', LU: 'Europe/Luxembourg', CH: 'Europe/Zurich', AT: 'Europe/Vienna', PL: 'Europe/Warsaw', CZ: 'Europe/Prague',
  SE: 'Europe/Stockholm', NO: 'Europe/Oslo', DK: 'Europe/Copenhagen', FI: 'Europe/Helsinki', GR: 'Europe/Athens', RO: 'Europe/Bucharest',
  AD: 'Europe/Andorra', MA: 'Africa/Casablanca', ZA: 'Africa/Johannesburg',
  CO: 'America/Bogota', PE: 'America/Lima', CL: 'America/Santiago', AR: 'America/Argentina/Buenos_Aires', VE: 'America/Caracas',
  EC: 'America/Guayaquil', UY: 'America/Montevideo', PY: 'America/Asuncion', BO: 'America/La_Paz', CR: 'America/Costa_Rica',
  PA: 'America/Panama', GT: 'America/Guatemala', SV: 'America/El_Salvador', HN: 'America/Tegucigalpa', NI: 'America/Managua',
  DO: 'America/Santo_Domingo', PR: 'America/Puerto_Rico', CU: 'America/Havana',
  JP: 'Asia/Tokyo', IN: 'Asia/Kolkata', CN: 'Asia/Shanghai', PH: 'Asia/Manila',
};

/** Prefixes of the national number (longest first wins) with a clock of their own, per country. */
const byPrefix: Partial<Record<CountryCode, Record<string, string>>> = {
  // Canary Islands' fixed lines (Las Palmas 928/828, Santa Cruz de Tenerife 922/822).
  ES: { 922: 'Atlantic/Canary', 928: 'Atlantic/Canary', 822: 'Atlantic/Canary', 828: 'Atlantic/Canary' },
  PT: { 292: 'Atlantic/Azores', 295: 'Atlantic/Azores', 296: 'Atlantic/Azores', 291: 'Atlantic/Madeira' },
  US: {
    ...Object.fromEntries(['201', '202', '212', '215', '267', '305', '347', '404', '407', '516', '617', '646', '718', '786', '813', '917', '929', '954']
      .map((c) => [c, 'America/New_York'])),
    ...Object.fromEntries(['214', '312', '469', '512', '615', '713', '773', '832', '972'].map((c) => [c, 'America/Chicago'])),
    ...Object.fromEntries(['303', '720', '801'].map((c) => [c, 'America/Denver'])),
    ...Object.fromEntries(['480', '602'].map((c) => [c, 'America/Phoenix'])),
    ...Object.fromEntries(['206', '213', '310', '323', '408', '415', '510', '619', '650', '702', '818', '858', '916'].map((c) => [c, 'America/Los_Angeles'])),
  },
  CA: {
    ...Object.fromEntries(['416', '437', '647', '613', '905', '514', '438'].map((c) => [c, 'America/Toronto'])),
    ...Object.fromEntries(['604', '778'].map((c) => [c, 'America/Vancouver'])),
    ...Object.fromEntries(['403', '587', '780'].map((c) => [c, 'America/Edmonton'])),
  },
  // Since 2022 most of Mexico keeps Mexico City's clock all year; the border and the Caribbean do not.
  MX: { 55: 'America/Mexico_City', 56: 'America/Mexico_City', 33: 'America/Mexico_City', 81: 'America/Mexico_City', 222: 'America/Mexico_City',
    664: 'America/Tijuana', 662: 'America/Hermosillo', 998: 'America/Cancun' },
  // Brazil: every DDD keeps Brasília time (no daylight saving since 2019) but these.
  BR: {
    ...Object.fromEntries(Array.from({ length: 89 }, (_, i) => [String(11 + i), 'America/Sao_Paulo'])),
    65: 'America/Cuiaba', 66: 'America/Cuiaba', 67: 'America/Campo_Grande', 68: 'America/Rio_Branco', 69: 'America/Porto_Velho',
    92: 'America/Manaus', 97: 'America/Manaus', 95: 'America/Boa_Vista',
  },
};

/** The zone a number's country and prefix tell, or undefined when they do not tell one. */
export function zoneOfNumber(number: string | PhoneParts): string | undefined {
  const parts = typeof number === 'string' ? partsOf(number) : number;
  if (!parts?.country) return undefined;
  const prefixes = byPrefix[parts.country];
  if (prefixes) {
    for (const length of [3, 2]) {
      const zone = prefixes[parts.national.slice(0, length)];
      if (zone) return zone;
    }
  }
  return singleZone[parts.country];
}

/** A contact's time zone: its own (already checked), else its number's (E.164, or as toE164 read it), else the campaign's default. */
export function timezoneOf(number: string | PhoneParts, fieldTimezone: string | null | undefined, defaultTimezone: string): string {
  if (fieldTimezone) return fieldTimezone;
  return zoneOfNumber(number) ?? defaultTimezone;
}
