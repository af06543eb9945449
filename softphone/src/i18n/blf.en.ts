// Messages of the colleagues' panel and line states (BLF): a chunk loaded with
// the BLF store (registerMessages), not part of the first load. blf.zh-CN.ts
// has the same keys (supervisor-i18n.test.ts checks).
export default {
  blf: {
    title: 'Colleagues',
    empty: 'No colleagues to watch yet.',
    add: 'Add key',
    uri: 'Number or SIP address',
    name: 'Name',
    remove: 'Remove {name}',
    call: 'Call {name} ({status})',
    status: {
      idle: 'Idle',
      ringing: 'Ringing',
      busy: 'Busy',
      away: 'Away',
      offline: 'Offline',
      unknown: 'Unknown',
    },
    /** An agent's contact-center state (the gateway publishes it as presence). */
    agent: {
      offline: 'Signed out of the queues',
      available: 'Ready',
      offered: 'Offered a queue call',
      'on-call': 'On a queue call',
      'wrap-up': 'Wrap-up',
      'not-ready': 'Paused',
      pausedFor: 'Paused: {reason}',
    },
    announce: '{name}: {state}',
    target: '{name} is {status}',
  },
};
