import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { useAccountStore } from './account';
import { ENDED_LINGER_MS, useCallsStore } from './calls';
import { useHistoryStore } from './history';
import { resetCoreServices, setCoreServices } from './core';
import { fakeCore, mockClientConfig, sampleStats, type FakePhone } from '../testing/fake-phone';
import { db } from '../storage/db';
import { mount } from '@vue/test-utils';
import RemoteMedia from '../components/RemoteMedia.vue';

let core: ReturnType<typeof fakeCore>;
let phone: FakePhone;

async function signedIn(): Promise<void> {
  mockClientConfig();
  useCallsStore(); // created up front, as App.vue does (it follows the phone through the session store)
  const account = useAccountStore();
  await account.init();
  await account.signInDemo('1001');
  phone = core.phones[0]!;
}
const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(async () => {
  setActivePinia(createPinia());
  core = fakeCore();
  setCoreServices(core.services);
  await signedIn();
});
afterEach(() => {
  resetCoreServices();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('placing and ending calls', () => {
  it('dial places the call on the current line and follows its state', async () => {
    const calls = useCallsStore();
    expect(await calls.dial(' 9196 ')).toBe(true);
    expect(phone.call).toHaveBeenCalledWith('9196', { video: false });
    expect(calls.lines[0]?.state).toBe('calling');
    expect(calls.activeLine).toBe(1);
    const c = phone.calls[0]!;
    c.set('ringing');
    expect(calls.active?.state).toBe('ringing');
    c.set('established');
    expect(calls.active?.state).toBe('established');
  });

  it('refuses an empty target without calling the core', async () => {
    const calls = useCallsStore();
    expect(await calls.dial('   ')).toBe(false);
    expect(phone.call).not.toHaveBeenCalled();
  });

  it('a second call goes on the next line and holds the first', async () => {
    const calls = useCallsStore();
    await calls.dial('1002');
    phone.calls[0]!.set('established');
    await calls.dial('1003');
    expect(phone.calls[0]!.hold).toHaveBeenCalledOnce();
    expect(calls.lines[0]?.state).toBe('held');
    expect(calls.lines[1]?.state).toBe('calling');
    expect(calls.activeLine).toBe(2);
  });

  it('switching to a held line resumes it and holds the current one', async () => {
    const calls = useCallsStore();
    await calls.dial('1002');
    phone.calls[0]!.set('established');
    await calls.dial('1003');
    phone.calls[1]!.set('established');
    await calls.switchTo(1);
    expect(phone.calls[1]!.hold).toHaveBeenCalled();
    expect(phone.calls[0]!.unhold).toHaveBeenCalled();
    expect(calls.lines.map((l) => l?.state)).toEqual(['established', 'held', undefined, undefined]);
    expect(calls.activeLine).toBe(1);
  });

  it('hang-up ends the call, writes history and frees the line after a moment', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'Date'] });
    const calls = useCallsStore();
    await calls.dial('1002');
    const c = phone.calls[0]!;
    c.set('established');
    c.stats = sampleStats({ mos: 4.0, rttMs: 40 });
    await vi.advanceTimersByTimeAsync(3000);
    expect(c.getStats).toHaveBeenCalledTimes(3);
    expect(calls.active?.samples).toHaveLength(3);
    await calls.hangup();
    expect(c.hangup).toHaveBeenCalledOnce();
    expect(calls.lines[0]?.state).toBe('ended');
    await vi.advanceTimersByTimeAsync(ENDED_LINGER_MS + 10);
    expect(calls.lines[0]).toBeNull();
    vi.useRealTimers();
    await flush();
    const history = useHistoryStore();
    expect(history.entries).toHaveLength(1);
    const entry = history.entries[0]!;
    expect(entry).toMatchObject({
      direction: 'outgoing',
      remote: 'sip:1002@localhost',
      answered: true,
      endedBy: 'local',
    });
    expect(entry.durationSec).toBe(3);
    expect(entry.quality).toMatchObject({ samples: 3, mosAvg: 4, rttAvgMs: 40, codec: 'opus' });
    // Persisted, so it survives a reload.
    expect(await (await db()).getAll('history')).toHaveLength(1);
  });
});

describe('incoming calls', () => {
  it('an incoming call takes a free line; answer and decline go to the handle', async () => {
    const calls = useCallsStore();
    const c = phone.ring('sip:1002@localhost', 'Bob');
    expect(calls.incoming.map((l) => l.n)).toEqual([1]);
    await calls.answer(1, true);
    expect(c.answer).toHaveBeenCalledWith({ video: true });
    expect(calls.active?.state).toBe('established');

    const d = phone.ring('sip:1003@localhost');
    expect(calls.incoming[0]?.n).toBe(2);
    await calls.decline(2);
    expect(d.decline).toHaveBeenCalledOnce();
  });

  it('a missed call shows in the missed count until the history is seen', async () => {
    const c = phone.ring('sip:1003@localhost');
    c.endCause = { code: 487, reason: 'Cancelled by caller', by: 'remote' };
    c.set('ended');
    await flush();
    const history = useHistoryStore();
    expect(history.missedCount).toBe(1);
    history.markSeen();
    expect(history.missedCount).toBe(0);
  });

  it('auto-answer is the core’s: the switch applies at once, the store does not answer', async () => {
    const account = useAccountStore();
    expect(phone.config.autoAnswer).toBe(false);
    account.setCallSetting('autoAnswer', true);
    expect(phone.setAutoAnswer).toHaveBeenLastCalledWith(true);
    const c = phone.ring();
    await flush();
    expect(c.answer).not.toHaveBeenCalled();
    account.setCallSetting('autoAnswer', false);
    expect(phone.setAutoAnswer).toHaveBeenLastCalledWith(false);
    // Signed in again: the phone starts with the saved switch.
    account.setCallSetting('autoAnswer', true);
    await account.signOut();
    await account.signInDemo('1001');
    expect(core.phones[1]!.config.autoAnswer).toBe(true);
  });

  it('a call the core answered by itself becomes the current line', async () => {
    const calls = useCallsStore();
    await calls.dial('1002');
    phone.calls[0]!.set('established');
    await calls.hangup();
    expect(calls.lines[0]?.state).toBe('ended');
    calls.switchTo(3);
    const c = phone.ring();
    expect(calls.lines[1]?.id).toBe(c.id);
    c.set('established'); // auto-answered
    expect(calls.activeLine).toBe(2);
  });

  it('lines that only show an ended call take new calls at once (e2e F9)', async () => {
    const calls = useCallsStore();
    for (let i = 0; i < 6; i++) {
      expect(await calls.dial('1004')).toBe(true);
      const c = phone.calls.at(-1)!;
      c.set('ringing');
      await calls.hangup();
      expect(c.state).toBe('ended');
    }
    expect(phone.call).toHaveBeenCalledTimes(6);
    expect(calls.live).toHaveLength(0);
    // An incoming call finds a line too.
    const incoming = phone.ring();
    expect(incoming.decline).not.toHaveBeenCalled();
    expect(calls.incoming).toHaveLength(1);
  });

  it('declines with 486 when every line is busy', async () => {
    for (let i = 0; i < 4; i++) phone.ring(`sip:10${i}@localhost`);
    const extra = phone.ring('sip:1099@localhost');
    expect(extra.decline).toHaveBeenCalledWith(486);
  });
});

describe('mid-call features', () => {
  async function established() {
    const calls = useCallsStore();
    await calls.dial('1002');
    phone.calls.at(-1)!.set('established');
    return { calls, c: phone.calls.at(-1)! };
  }

  it('mute, DTMF and hold dispatch to the call handle', async () => {
    const { calls, c } = await established();
    await calls.toggleMute();
    expect(c.mute).toHaveBeenCalled();
    expect(calls.active?.muted).toBe(true);
    await calls.toggleMute();
    expect(c.unmute).toHaveBeenCalled();
    await calls.sendDtmf('5');
    expect(c.sendDtmf).toHaveBeenCalledWith('5');
    await calls.toggleHold();
    expect(c.hold).toHaveBeenCalled();
    expect(calls.active?.state).toBe('held');
    await calls.toggleHold();
    expect(c.unhold).toHaveBeenCalled();
  });

  it('hold and resume leave the mute to the user (the core silences a held call)', async () => {
    const { calls, c } = await established();
    await calls.toggleHold();
    expect(c.hold).toHaveBeenCalledOnce();
    await calls.toggleHold();
    expect(c.unhold).toHaveBeenCalledOnce();
    expect(c.mute).not.toHaveBeenCalled();
    expect(c.unmute).not.toHaveBeenCalled();

    await calls.toggleMute();
    await calls.toggleHold();
    expect(calls.active?.muted).toBe(true);
    await calls.toggleHold();
    expect(calls.active?.muted).toBe(true);
    expect(c.mute).toHaveBeenCalledOnce();
    expect(c.unmute).not.toHaveBeenCalled();
  });

  it('blind and attended transfer', async () => {
    const { calls, c } = await established();
    await calls.blindTransfer(' 1004 ');
    expect(c.blindTransfer).toHaveBeenCalledWith('1004');
    await calls.dial('1003');
    const consult = phone.calls.at(-1)!;
    consult.set('established');
    // Line 1 (held, the transferee) is handed over to line 2 (the consultation call).
    await calls.attendedTransfer(1, 2);
    expect(c.attendedTransfer).toHaveBeenCalledWith(consult);
    expect(consult.attendedTransfer).not.toHaveBeenCalled();
  });

  it('merge resumes held lines and mixes every connected call', async () => {
    const { calls, c } = await established();
    await calls.dial('1003');
    const second = phone.calls.at(-1)!;
    second.set('established');
    expect(calls.lines[0]?.state).toBe('held');
    await calls.merge();
    expect(c.unhold).toHaveBeenCalled();
    expect(core.conferences).toHaveLength(1);
    expect(core.conferences[0]!.participants).toEqual([c, second]);
    expect(calls.lines[0]?.inConference && calls.lines[1]?.inConference).toBe(true);
    calls.endConference();
    expect(core.conferences[0]!.end).toHaveBeenCalled();
  });

  it('video, screen share and camera switch', async () => {
    const { calls, c } = await established();
    await calls.toggleVideo();
    expect(c.startVideo).toHaveBeenCalled();
    expect(calls.active?.video).toBe(true);
    await calls.switchCamera('cam2');
    expect(c.switchCamera).toHaveBeenCalledWith('cam2');
    await calls.toggleVideo();
    expect(c.stopVideo).toHaveBeenCalled();
    await calls.toggleScreenShare();
    expect(c.startScreenShare).toHaveBeenCalled();
    await calls.toggleScreenShare();
    expect(c.stopScreenShare).toHaveBeenCalled();
  });

  it('recording yields one downloadable Blob URL', async () => {
    const created = vi.fn(() => 'blob:rec-1');
    vi.stubGlobal(
      'URL',
      Object.assign(URL, { createObjectURL: created, revokeObjectURL: vi.fn() }),
    );
    const { calls, c } = await established();
    await calls.toggleRecording();
    expect(c.startRecording).toHaveBeenCalled();
    expect(calls.active?.recording).toBe(true);
    await calls.toggleRecording();
    expect(c.stopRecording).toHaveBeenCalled();
    expect(calls.recordings).toHaveLength(1);
    expect(calls.recordings[0]).toMatchObject({ url: 'blob:rec-1', size: 9 });
    expect(calls.recordings[0]!.fileName).toMatch(/^call-1002-.*\.ogg$/);
  });

  it('a recording finished by a hang-up (either side) is offered for download too', async () => {
    vi.stubGlobal(
      'URL',
      Object.assign(URL, { createObjectURL: vi.fn(() => 'blob:rec-2'), revokeObjectURL: vi.fn() }),
    );
    const { calls, c } = await established();
    await calls.toggleRecording();
    // The far end hangs up: the core finishes the file and hands it out.
    c.finishRecording();
    c.set('ended');
    expect(calls.recordings).toHaveLength(1);
    expect(calls.recordings[0]).toMatchObject({ url: 'blob:rec-2', remote: 'sip:1002@localhost' });
    expect(calls.recordings[0]!.fileName).toMatch(/^call-1002-.*\.ogg$/);

    // Our own hang-up no longer stops it in the store; the core's file arrives the same way.
    const next = await established();
    await calls.toggleRecording();
    await calls.hangup();
    expect(next.c.stopRecording).not.toHaveBeenCalled();
    next.c.finishRecording();
    expect(calls.recordings).toHaveLength(2);
  });

  it('a failing action is reported, not thrown', async () => {
    const { calls, c } = await established();
    c.hold.mockRejectedValueOnce(new Error('re-INVITE rejected: 488'));
    await calls.toggleHold();
    const { useUiStore } = await import('./ui');
    expect(useUiStore().toasts.at(-1)?.text).toContain('488');
    expect(calls.active?.state).toBe('established');
    expect(calls.active?.busy).toBeUndefined();
  });
});

describe("a supervisor's whisper leg on the agent's softphone", () => {
  it('is no line: nothing rings, the queue call stays the only line, its audio still plays', async () => {
    const calls = useCallsStore();
    const queueCall = phone.ring('sip:+15550109999@localhost', 'Caller', {
      queue: 'sales',
      callId: 'qc-1',
    });
    await calls.answer(1);
    queueCall.set('established');
    const leg = phone.ring('sip:callcontrol@localhost', 'Supervisor', undefined, {
      mode: 'whisper',
      id: 'm-1',
      queueCall: 'qc-1',
      supervisor: '1001',
    });
    // not a line, not incoming (so no ring, no notification), not the current line
    expect(calls.live.map((l) => l.id)).toEqual([queueCall.id]);
    expect(calls.incoming).toEqual([]);
    expect(calls.lines.filter(Boolean)).toHaveLength(1);
    expect(calls.activeLine).toBe(1);
    expect(calls.whispers.map((w) => w.id)).toEqual([leg.id]);
    // answered (agent-monitor.ts does it): its stream is played by RemoteMedia
    // happy-dom's MediaStream has no tracks of its own
    const stream = Object.assign(new MediaStream(), {
      getTracks: () => [{ id: 'supervisor-voice' }],
    }) as unknown as MediaStream;
    leg.set('established', { remoteStream: stream });
    expect(calls.whispers[0]?.remoteStream).toBe(stream);
    expect(calls.lines.filter(Boolean)).toHaveLength(1);
    const media = mount(RemoteMedia);
    expect(media.find(`audio[data-testid="remote-audio-whisper-${leg.id}"]`).exists()).toBe(true);
    media.unmount();
    // ended: gone, and no history entry of its own
    leg.set('ended');
    await flush();
    expect(calls.whispers).toEqual([]);
    const history = useHistoryStore();
    expect(history.entries.some((e) => e.remote === 'sip:callcontrol@localhost')).toBe(false);
  });
});
