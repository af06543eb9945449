// The gateway the calltest real-stack tests run against: base 19000, rtpengine
// media 19350-19499 (room for a load ramp), and a trunk to a carrier that
// calltest itself plays (builtin:trunk-call) on 127.0.0.2 at calltest's first
// leg port (--port-base 19250). calltest's own ports: 20 per leg from 19250, so
// 19250-19349 holds up to five legs without touching rtpengine's range.

export const CT_PORT_BASE = 19250;

export const STACK_OVERRIDES = {
  rtpengine: { portMin: 19350, portMax: 19499 },
  trunks: [
    {
      name: 'carrier',
      host: '127.0.0.2',
      port: CT_PORT_BASE,
      inboundAddresses: ['127.0.0.2'],
      auth: { username: 'gw-account', password: 'trunk-secret-1' },
      prefixes: ['+1555'],
      codecs: ['PCMU' as const, 'PCMA' as const],
    },
  ],
};
