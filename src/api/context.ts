/** What the API's route plugins work with: the core services, never HTTP-specific state. */
import type { Settings } from '../config/settings.js';
import type { AccountService } from '../auth/accounts.js';
import type { AccessLog } from '../records/access-log.js';
import type { Store } from '../store/store.js';
import type { DataKey } from '../store/data-key.js';
import type { SigningKey } from '../seal/index.js';
import type { EventBus } from '../workflow/events.js';
import type { Workflow } from '../workflow/workflow.js';
import type { Actor, Permission } from '../workflow/permissions.js';

export interface ApiContext {
  settings: Settings;
  dataDir: string;
  store: Store;
  dataKey: DataKey;
  signer: SigningKey;
  accounts: AccountService;
  log: AccessLog;
  bus: EventBus;
  workflow: Workflow;
  startedAt: Date;
  version: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; null: anyone (login, health). Every route must say. */
    permission?: Permission | null;
  }
  interface FastifyRequest {
    actor: Actor;
    sessionToken: string | null;
  }
}
