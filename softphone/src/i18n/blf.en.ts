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
    announce: '{name}: {state}',
    target: '{name} is {status}',
  },
};
