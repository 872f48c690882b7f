/**
 * A queue's screen pop: a URL template such as
 * `https://crm.example/lookup?phone={callerNumber}&call={callId}&account={var.account}`
 * whose placeholders are filled from the call, each value URL-encoded (so a
 * caller cannot change the URL's shape with what they key). Pure.
 */

export const screenPopFields = ['callerNumber', 'callerName', 'callId', 'did', 'queue', 'queueId', 'agentId', 'agentNumber'] as const;
export type ScreenPopValues = Partial<Record<(typeof screenPopFields)[number], string | null>> & { variables?: Record<string, unknown> };

const placeholder = /\{([^{}]*)\}/g;

/** Why a template cannot be used (the API's 400), or undefined. */
export function screenPopProblem(template: string): string | undefined {
  const bare = template.replace(placeholder, 'x');
  if (/[{}]/.test(bare)) return 'has an unpaired { or }';
  let url: URL;
  try { url = new URL(bare); } catch { return 'is not a URL once its placeholders are filled'; }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (/\{[^{}]*\}/.test(`${url.protocol}//${template.split('/')[2] ?? ''}`)) return 'may not have a placeholder in its host (values go in the path or query)';
  for (const [, name] of template.matchAll(placeholder)) {
    if (!(screenPopFields as readonly string[]).includes(name!) && !/^var\.[A-Za-z0-9_]{1,40}$/.test(name!)) {
      return `has an unknown placeholder {${name}} (known: ${screenPopFields.map((f) => `{${f}}`).join(', ')}, {var.NAME} for an IVR variable)`;
    }
  }
  return undefined;
}

/** The template filled in: each value URL-encoded, an unknown or missing value empty. */
export function fillScreenPop(template: string, values: ScreenPopValues): string {
  return template.replace(placeholder, (_all, name: string) => {
    const value = name.startsWith('var.') ? values.variables?.[name.slice(4)] : values[name as (typeof screenPopFields)[number]];
    if (value === undefined || value === null) return '';
    return encodeURIComponent(typeof value === 'object' ? JSON.stringify(value) : String(value));
  });
}

/** The origin a template's URLs open on (the desk page lets frames from it). */
export function screenPopOrigin(template: string): string | undefined {
  try { return new URL(template.replace(placeholder, 'x')).origin; } catch { return undefined; }
}
