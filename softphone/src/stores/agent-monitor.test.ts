import { describe, expect, it } from 'vitest';
import { FakePhone } from '../testing/fake-phone';
import { takeWhisperLeg } from './agent-monitor';

// The agent's side of whisper and barge: the leg is answered by itself only
// when it names the queue call the agent is on, and refused otherwise.

const phone = new FakePhone({ sipUri: 'sip:1003@localhost', password: 'x', wsUrl: 'wss://x/ws' });

describe('whisper legs on the agent’s softphone', () => {
  it('answers the leg for the queue call the agent is on', async () => {
    const queueCall = phone.ring('sip:+1555@localhost', 'Alice', {
      queue: 'sales',
      callId: 'qc-1',
    });
    const leg = phone.ring('sip:callcontrol@localhost', undefined, undefined, {
      mode: 'whisper',
      id: 'm-1',
      queueCall: 'qc-1',
      supervisor: '1001',
    });
    takeWhisperLeg(
      leg,
      () => 'qc-1',
      () => queueCall,
    );
    expect(leg.answer).toHaveBeenCalledTimes(1);
  });

  it('refuses a leg for another call (it is never a line that could ring)', () => {
    const leg = phone.ring('sip:callcontrol@localhost', undefined, undefined, {
      mode: 'barge',
      id: 'm-2',
      queueCall: 'qc-2',
      supervisor: '1001',
    });
    takeWhisperLeg(
      leg,
      () => 'qc-1',
      () => undefined,
    );
    takeWhisperLeg(
      leg,
      () => undefined,
      () => undefined,
    );
    expect(leg.answer).not.toHaveBeenCalled();
    expect(leg.decline).toHaveBeenCalledWith(486);
  });
});
