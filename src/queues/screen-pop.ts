/**
 * A queue's screen pop: a URL template such as
 * `https://crm.example/lookup?phone={callerNumber}&call={callId}&account={var.account}`
 * whose placeholders are filled from the call, each value URL-encoded (so a
 * caller cannot change the URL's shape with what they key). Pure.
 */

export const screenPopFields = ['callerNumber', 'callerName', 'callId', 'did', 'queue', 'queueId', 'agentId', 'agentNumber'] as const;
export type ScreenPopValues = Partial<Record<(typeof screenPopFields)[number], string | null>> & { variables?: Record<string, unknown> };

const placeholder = /\{([^{}]*)\}/g;

/** A host as it may stand in the desk page's Content-Security-Policy: a name or an address, nothing else. */
const plainHost = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/i;

/** The template with every placeholder as `value`, parsed; undefined when that is no URL. */
function filledWith(template: string, value: string): URL | undefined {
  try { return new URL(template.replace(placeholder, value)); } catch { return undefined; }
}

/** Why a template cannot be used (the API's 400), or undefined. */
export function screenPopProblem(template: string): string | undefined {
  if (/[{}]/.test(template.replace(placeholder, 'x'))) return 'has an unpaired { or }';
  // Filled two ways: a placeholder that reaches the scheme or the host (however the URL is
  // written: https:/{var.h}/ too) gives two origins, and is refused.
  const one = filledWith(template, 'x1');
  const other = filledWith(template, 'y2');
  if (!one || !other) return 'is not a URL once its placeholders are filled';
  if (one.protocol !== 'https:' && one.protocol !== 'http:') return 'must be an http(s) URL';
  if (one.origin !== other.origin || one.username !== other.username || one.password !== other.password) {
    return 'may not have a placeholder in its scheme, host or port (values go in the path or query)';
  }
  if (!plainHost.test(one.hostname) || one.username || one.password) return 'must name a plain host (no wildcard, no user or password)';
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

/** The origin a template's URLs open on (the desk page lets frames from it); undefined for a template screenPopProblem refuses. */
export function screenPopOrigin(template: string): string | undefined {
  return screenPopProblem(template) === undefined ? filledWith(template, 'x1')?.origin : undefined;
}
