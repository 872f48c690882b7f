// What the load benchmark measures outside the calls: CPU seconds and memory
// of a process (from /proc), the machine's busy share, and call setup times
// read from a packet capture of the callers' SIP port.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/**
 * A process as one run of a program: its pid and its start time (ticks
 * since boot, /proc/<pid>/stat field 22). A pid alone could be reused by a
 * new process after a restart.
 */
export interface ProcessIdentity { pid: number; startTicks: number }

export function processIdentity(pid: number): ProcessIdentity {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return { pid, startTicks: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) };
}

/** Whether that run of the program is still the one alive under its pid. */
export function stillRunning(identity: ProcessIdentity): boolean {
  try {
    return processIdentity(identity.pid).startTicks === identity.startTicks;
  } catch {
    return false; // /proc/<pid> is gone: the process ended
  }
}

/** utime + stime of a process, in seconds (its threads included, reaped children not). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** utime + stime + the reaped children's cutime + cstime, in seconds. */
export function cpuSecondsWithChildren(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : 0;
}

/** The machine's CPU counters (all cores): busy and total ticks. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Value at quantile q (0..1) of sorted numbers, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Call setup times (first INVITE → first 200 OK to that INVITE, in ms, by
 * Call-ID) from a pcap of SIP on the loopback (tcpdump -i lo, Ethernet link
 * type; UDP over IPv4). Microsecond timestamps, unlike sipp's whole
 * milliseconds. Calls without a 200 OK are left out.
 */
export function setupTimesFromPcap(file: string): number[] {
  const data = readFileSync(file);
  if (data.length < 24) return [];
  const magic = data.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const linkType = u32(20);
  const invites = new Map<string, number>();
  const answers = new Map<string, number>();
  let at = 24;
  while (at + 16 <= data.length) {
    const seconds = u32(at);
    const fraction = u32(at + 4);
    const captured = u32(at + 8);
    const packet = at + 16;
    at = packet + captured;
    if (at > data.length) break;
    const time = seconds * 1000 + fraction / (nano ? 1e6 : 1e3);
    let ip = packet;
    if (linkType === 1) ip += 14; // Ethernet
    else if (linkType === 113) ip += 16; // Linux cooked capture
    else if (linkType !== 101) continue; // raw IP
    if ((data[ip]! >> 4) !== 4 || data[ip + 9] !== 17) continue;
    const udp = ip + (data[ip]! & 0x0f) * 4;
    const text = data.toString('latin1', udp + 8, Math.min(at, udp + 8 + 1500));
    const callId = /^(?:Call-ID|i):\s*(\S+)/im.exec(text)?.[1];
    if (!callId) continue;
    if (text.startsWith('INVITE ')) {
      if (!invites.has(callId)) invites.set(callId, time);
    } else if (text.startsWith('SIP/2.0 200') && /^CSeq:\s*\d+\s+INVITE/im.test(text)) {
      if (!answers.has(callId)) answers.set(callId, time);
    }
  }
  const times: number[] = [];
  for (const [callId, sent] of invites) {
    const answered = answers.get(callId);
    if (answered !== undefined) times.push(answered - sent);
  }
  return times.sort((a, b) => a - b);
}
