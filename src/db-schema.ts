import type { AgentsTables } from './agents/store.js';
import type { AuthTables } from './auth/store.js';
import type { CallsTables } from './calls/store.js';
import type { CampaignsTables } from './campaigns/store.js';
import type { WebhooksTables } from './webhooks/store.js';
import type { IvrTables } from './ivr/store.js';
import type { MonitorTables } from './monitor/store.js';
import type { QueuesTables } from './queues/store.js';
import type { OutboundTables } from './outbound/store.js';
import type { PromptsTables } from './prompts/store.js';
import type { RecordingTables } from './recording/store.js';
import type { ReportsTables } from './reports/tables.js';
import type { SecurityTables } from './security/store.js';
import type { SurveysTables } from './surveys/store.js';

/** Every table, for Kysely; each capability declares and queries only its own (the reports read the others' events: docs/architecture.md). */
export interface Database extends AuthTables, CallsTables, CampaignsTables, AgentsTables, IvrTables, PromptsTables, QueuesTables, MonitorTables, RecordingTables, ReportsTables, SecurityTables, SurveysTables, WebhooksTables, OutboundTables {}
