/** Looking at the lab Asterisk from integration tests: its CLI and ARI, as scripts/lab.sh sets them up. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const LAB_ROOT = `${process.env.CENTRALITA_LAB_CACHE ?? '/var/cache/centralita-lab'}/rootfs`;
const ARI_URL = 'http://127.0.0.1:8088/ari';
const ARI_USER = process.env.CENTRALITA_ARI_USER ?? 'centralita';
const ARI_PASSWORD = process.env.CENTRALITA_ARI_PASSWORD ?? 'centralita-lab-ari';

/** Runs one Asterisk CLI command (`asterisk -rx`) inside the lab root; needs root, as the lab does. */
export async function asteriskCli(command: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('chroot', [LAB_ROOT, '/usr/sbin/asterisk', '-rx', command], { timeout: 10_000 });
    return stdout;
  } catch (error) {
    throw new Error(`asterisk -rx '${command}' failed (is the lab up? bash scripts/lab.sh up): ${String(error)}`, { cause: error });
  }
}

export interface AorContact {
  uri: string;
  /** Avail, Unavail, NonQual, Unknown or Created. */
  status: string;
}

/** The contacts Asterisk holds for an AOR, from `pjsip show aor`. */
export async function aorContacts(aor: string): Promise<AorContact[]> {
  const output = await asteriskCli(`pjsip show aor ${aor}`);
  const contacts: AorContact[] = [];
  for (const line of output.split('\n')) {
    // e.g. "    Contact:  1001/sip:1001@127.0.0.1:55616    9cfa67c85b Avail     1.918"
    const m = /^\s*Contact:\s+([^\s<]+?)\/(sips?:\S+)\s+\S+\s+(\S+)/.exec(line);
    if (m?.[1] === aor && m[2] && m[3]) contacts.push({ uri: m[2], status: m[3] });
  }
  return contacts;
}

/** Whether a WebSocket currently holds the Stasis application (ARI answers 404 otherwise). */
export async function stasisAppConnected(app: string): Promise<boolean> {
  const auth = Buffer.from(`${ARI_USER}:${ARI_PASSWORD}`).toString('base64');
  const response = await fetch(`${ARI_URL}/applications/${encodeURIComponent(app)}`, {
    headers: { authorization: `Basic ${auth}` },
    signal: AbortSignal.timeout(5000),
  });
  if (response.status === 404) return false;
  if (response.ok) return true;
  throw new Error(`ARI GET /applications/${app} answered ${response.status}`);
}

/** Rejects with a clear message if the promise does not settle in time. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
