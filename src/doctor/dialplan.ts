import type { AmiMessage } from '../asterisk/ami.js';
import type { SiteOptions } from '../core/config.js';

/** One item of AMI ShowDialPlan: a priority of an extension, or an include of another context. */
export interface DialplanLine { context: string; extension?: string; application?: string; appdata?: string; include?: string }

/** What the dialplan check compares the dialplan with. */
export interface DialplanExpectations { app: string; site: Pick<SiteOptions, 'transferContext' | 'inboundContexts' | 'phoneContexts'> }

/** ShowDialPlan's ListDialplan events as lines (AmiClient lower-cases the keys). */
export function dialplanLines(items: AmiMessage[]): DialplanLine[] {
  const text = (value: unknown): string | undefined => (value === undefined ? undefined : String(value));
  return items.filter((item) => item.event === 'ListDialplan' && item.context !== undefined).map((item) => ({
    context: String(item.context),
    ...(item.includecontext !== undefined ? { include: String(item.includecontext) } : {}),
    ...(item.extension !== undefined ? { extension: text(item.extension)!, application: text(item.application) ?? '', appdata: text(item.appdata) ?? '' } : {}),
  }));
}

/** Applications whose appdata may need globals resolved before the check reads it. */
export const readApplications = new Set(['stasis', 'goto', 'gotoif', 'gotoiftime', 'gosub', 'gosubif']);

/**
 * The contexts a jump leaves for: Goto/Gosub's `context,extension,priority`
 * and both labels of GotoIf/GotoIfTime/GosubIf (`…?label:label`), when the
 * context is a literal name (a variable left unresolved is not followed).
 */
export function jumpTargets(application: string, appdata: string): string[] {
  const app = application.toLowerCase();
  if (!readApplications.has(app) || app === 'stasis') return [];
  let labels: string[];
  if (app === 'goto' || app === 'gosub') labels = [appdata];
  else {
    const question = appdata.indexOf('?');
    if (question < 0) return [];
    labels = appdata.slice(question + 1).replace(/\([^)]*\)/g, '').split(':');
  }
  return labels
    .map((label) => label.replace(/\([^)]*\)/g, '').split(',').map((part) => part.trim()))
    .filter((parts) => parts.length === 3 && /^[A-Za-z0-9_-]+$/.test(parts[0]!))
    .map((parts) => parts[0]!);
}

/**
 * Every context a call entering `entry` can run, each with the way there
 * (entry first): Asterisk looks an extension up in the context, then in its
 * includes (recursively); a Goto or Gosub to a literal context leads there too.
 */
export function reachableContexts(lines: DialplanLine[], entry: string): Map<string, string[]> {
  const next = new Map<string, Set<string>>();
  const edge = (from: string, to: string) => {
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)!.add(to);
  };
  for (const line of lines) {
    if (line.include) edge(line.context, line.include);
    for (const target of jumpTargets(line.application ?? '', line.appdata ?? '')) edge(line.context, target);
  }
  const paths = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const context = queue.shift()!;
    for (const to of next.get(context) ?? []) {
      if (paths.has(to)) continue;
      paths.set(to, [...paths.get(context)!, to]);
      queue.push(to);
    }
  }
  return paths;
}

type Outcome = { status: 'ok'; detail: string } | { status: 'problem'; detail: string; fix: string };

/**
 * The dialplan check on ShowDialPlan's lines (globals already resolved):
 * Stasis(<app>,did,…) must be reachable from every context the carrier's
 * calls enter, Stasis(<app>,feature,…) from every context desk phones' calls
 * enter, and the transfer context must exist.
 */
export function checkDialplan(lines: DialplanLine[], { app, site }: DialplanExpectations): Outcome {
  const contexts = new Set(lines.map((line) => line.context));
  const problems: string[] = [];
  const fixes = new Set<string>();
  const found: string[] = [];
  const kinds = [
    { kind: 'did', label: 'DIDs', entries: site.inboundContexts, key: 'CENTRALITA_INBOUND_CONTEXTS', who: 'your carrier\'s calls enter', snippet: 'centralita-inbound' },
    { kind: 'feature', label: 'feature codes', entries: site.phoneContexts, key: 'CENTRALITA_PHONE_CONTEXTS', who: 'your desk phones\' calls enter', snippet: 'centralita-features' },
  ] as const;
  for (const { kind, label, entries, key, who, snippet } of kinds) {
    const stasis = new Map<string, string[]>();
    for (const line of lines) {
      if (line.application?.toLowerCase() !== 'stasis') continue;
      const args = (line.appdata ?? '').split(',').map((arg) => arg.trim());
      if (args[0] !== app || args[1] !== kind) continue;
      stasis.set(line.context, [...(stasis.get(line.context) ?? []), line.extension!]);
    }
    const target = `Stasis(${app},${kind},…)`;
    if (stasis.size === 0) {
      problems.push(`no extension runs ${target}`);
      fixes.add(`include deploy/asterisk/extensions-centralita.conf; CENTRALITA_APP must equal CENTRALITA_ARI_APP (docs/install.md, step 4)`);
      continue;
    }
    const where = [...stasis.keys()];
    const ways: string[] = [];
    for (const entry of entries) {
      if (!contexts.has(entry)) {
        problems.push(`no context ${entry} (${key}): ${target} is in ${where.join(', ')}`);
        fixes.add(`set ${key} to the context(s) ${who} (the context= of their endpoints in pjsip.conf)`);
        continue;
      }
      const reach = reachableContexts(lines, entry);
      const reached = where.filter((context) => reach.has(context));
      if (reached.length === 0) {
        const include = where.includes(snippet) ? snippet : where[0]!;
        problems.push(`${target} is in ${where.join(', ')}, which ${entry} (${key}) does not include, directly or through its includes: those calls never reach centralita`);
        fixes.add(`add "include => ${include}" to [${entry}] and run "dialplan reload", or set ${key} to the context(s) ${who} (docs/install.md, step 4)`);
        continue;
      }
      ways.push(`${reach.get(reached[0]!)!.join(' → ')} (${stasis.get(reached[0]!)!.slice(0, 2).join(', ')})`);
    }
    if (ways.length > 0) found.push(`${label} enter at ${ways.join(', ')}`);
  }
  if (!contexts.has(site.transferContext)) {
    problems.push(`no context ${site.transferContext} (CENTRALITA_TRANSFER_CONTEXT)`);
    fixes.add('include deploy/asterisk/extensions-centralita.conf, or set CENTRALITA_TRANSFER_CONTEXT to a context that dials ${EXTEN} (docs/install.md, step 4)');
  }
  if (problems.length > 0) return { status: 'problem', detail: problems.join('; '), fix: [...fixes].join('; ') };
  return { status: 'ok', detail: `${found.join('; ')}; transfers continue in ${site.transferContext}` };
}
