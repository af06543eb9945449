import type { Line } from '../stores/calls';

/** A line as the calls store holds it, established by default. */
export function line(over: Partial<Line> = {}): Line {
  return {
    n: 1,
    id: 'call-1',
    direction: 'outgoing',
    remoteUri: 'sip:1002@localhost',
    remoteName: 'Bob',
    state: 'established',
    muted: false,
    remoteHold: false,
    video: false,
    screenSharing: false,
    recording: false,
    autoAnswerRequested: false,
    videoOffered: false,
    timestamps: { createdAt: Date.now() - 5000, establishedAt: Date.now() - 4000 },
    hasRemoteVideo: false,
    hasLocalVideo: false,
    version: 1,
    samples: [],
    inConference: false,
    ...over,
  };
}
