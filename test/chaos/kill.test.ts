// One centralita, killed (SIGKILL) mid-call and started again: test/chaos/rounds.ts.
import { chaosSuite } from './rounds.js';

chaosSuite('single');
