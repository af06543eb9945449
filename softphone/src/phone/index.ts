// Public API of the telephony core. The UI imports from here only; no SIP.js
// type or object crosses this boundary.

export type * from './types';
export { Phone, RegistrationError } from './phone';
export type { PhoneDependencies, WebSocketConstructor } from './phone';
export { PBX_PRESETS, ConfigError, normalizeTarget, parseSipUri } from './config';
export {
  CALL_TRANSITIONS,
  CallStateError,
  IllegalTransitionError,
  canTransition,
} from './call-state';
export { Conference } from './conference';
export { DeviceManager, LevelMeter } from './media-devices';
export type {
  DeviceInfo,
  DeviceKind,
  DeviceLists,
  DeviceSelection,
  DeviceManagerEvents,
} from './media-devices';
export { StatsSampler, eModel, mosFromR, CODEC_IMPAIRMENTS } from './stats';
export type { EModelInput, EModelResult, CodecImpairment } from './stats';
export { TraceRecorder, redactSip } from './trace';
export { detectAutoAnswer } from './auto-answer';
export type { AutoAnswerRequest } from './auto-answer';
export { backoffDelay } from './backoff';
export { DTMF_TONES, dtmfInfoBody, parseDtmfInfo } from './dtmf';
export { Emitter } from './emitter';
export { warmUpCode } from './warm';
export {
  AgentError,
  digestAuthorization,
  digestHa1,
  parseDigestChallenge,
  parseMonitorHeader,
  parseQueueHeaders,
} from './agent-sip';
/** The agent API's client is a chunk of its own (only contact-center users load it). */
export const loadAgentClient = () => import('./agent').then((m) => m.AgentClient);
export type {
  AgentClientOptions,
  AgentConnectionState,
  AgentCredentials,
  AgentEvents,
  AgentQueue,
  AgentState,
  AgentView,
  AgentWrapUp,
  ContactCenterRole,
  DigestChallenge,
  EventSourceConstructor,
  EventSourceLike,
  MonitorLeg,
  MonitorMode,
  QualitySample,
  QualityVerdict,
  QueueCallInfo,
  ScreenPop,
  SelectableAgentState,
} from './agent';
/** The supervisor's client is a chunk of its own (only supervisors load it). */
export const loadSupervisorClient = () => import('./supervisor').then((m) => m.SupervisorClient);
export type {
  AgentFigures,
  BearerSource,
  CallQualitySummary,
  MonitorView,
  LiveQuality,
  Party,
  QueueFigures,
  RecordingEntry,
  Report,
  ReportInterval,
  ReportQuery,
  SupervisorClientOptions,
  SupervisorEvents,
  Wallboard,
  WallboardAgent,
  WallboardAgentCall,
  WallboardCaller,
  WallboardQueue,
} from './supervisor';
export type { Unsubscribe } from './emitter';
