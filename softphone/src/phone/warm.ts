// Compiles the sign-in code paths ahead of time. V8 compiles functions lazily,
// on their first call: in a fresh browser the first Phone (SIP.js's
// UserAgent, Registerer, the message parser, Digest) costs tens of ms of
// compiling right after the sign-in click. Called once the core has loaded
// and the page is otherwise idle; builds a Phone that never starts (no
// socket, no timers, no listeners outside itself) and parses two responses.
import { Core } from 'sip.js';
import { digestHa1 } from './agent-sip';
import { DeviceManager } from './media-devices';
import { Phone } from './phone';

let done = false;

export function warmUpCode(): void {
  if (done) return;
  done = true;
  try {
    const phone = new Phone(
      {
        wsUrl: 'wss://warm.invalid/ws',
        sipUri: 'sip:warm@warm.invalid',
        password: 'warm',
        pbxPreset: 'kamailio',
      },
      { devices: new DeviceManager(undefined) },
    );
    void phone.credentials.ha1('warm.invalid');
    const logger = new Core.LoggerFactory().getLogger('warm');
    const head = [
      'Via: SIP/2.0/WSS warm.invalid;branch=z9hG4bK1;received=127.0.0.1;rport=1',
      'From: <sip:warm@warm.invalid>;tag=a',
      'To: <sip:warm@warm.invalid>;tag=b',
      'Call-ID: warm',
      'CSeq: 1 REGISTER',
    ];
    for (const status of [
      [
        'SIP/2.0 401 Unauthorized',
        ...head,
        'WWW-Authenticate: Digest realm="warm.invalid", nonce="n", qop="auth", algorithm=MD5',
      ],
      ['SIP/2.0 200 OK', ...head, 'Contact: <sip:warm@warm.invalid>;expires=600'],
    ])
      Core.Parser.parseMessage([...status, 'Content-Length: 0', '', ''].join('\r\n'), logger);
    digestHa1('warm', 'warm.invalid', 'warm');
  } catch {
    // Only a speed-up.
  }
}
