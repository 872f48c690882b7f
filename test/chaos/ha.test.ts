// A leader and a standby: the leader killed (SIGKILL) or frozen (SIGSTOP) mid-call, the standby takes over (docs/ha.md): test/chaos/rounds.ts.
import { chaosSuite } from './rounds.js';

chaosSuite('ha');
