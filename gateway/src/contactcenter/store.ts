// The contact center's store: its SQL lives with the other SQL in ../store
// (cc.ts for SQLite, postgres.ts for a cluster's PostgreSQL).
export {
  CcStore,
  type AgentRow,
  type AuditRow,
  type MemberRow,
  type QualitySummary,
  type QueueCallRow,
  type QueueEventName,
  type QueueEventRow,
} from '../store/cc.js';
