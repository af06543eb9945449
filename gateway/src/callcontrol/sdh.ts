import type {
  BodyAndContentType,
  Session,
  SessionDescriptionHandler,
  SessionDescriptionHandlerFactory,
} from 'sip.js';
import type { CallMedia } from './media.js';

// SIP.js asks a SessionDescriptionHandler for every SDP it sends and hands it
// every SDP it receives; in a browser that is a RTCPeerConnection. Here it is
// rtpengine: each leg's handler turns offers and answers into ng commands on
// the caller's CallMedia. The B2BUA never re-INVITEs either leg, so the
// caller's handler only ever answers, and an agent's handler makes one offer
// (the INVITE) and afterwards answers the agent's own re-INVITEs (hold).

export type LegRole =
  | { kind: 'caller'; media: CallMedia }
  | {
      kind: 'agent';
      media: CallMedia;
      tag: string;
      /** The agent re-offered (hold, resume): tells the call whether it is a hold. */
      onOffer?: (sdp: string) => void;
    }
  | {
      /** A leg we offer once and never re-negotiate (monitor.ts): its re-INVITEs get 488. */
      kind: 'fixed';
      offer: () => Promise<string>;
      answer: (sdp: string) => Promise<void>;
    };

const SDP = 'application/sdp';

class AnchoredSdh implements SessionDescriptionHandler {
  private pendingOffer: string | undefined;
  private awaitingAnswer = false;

  constructor(private readonly role: LegRole) {}

  async getDescription(): Promise<BodyAndContentType> {
    const { role } = this;
    const offer = this.pendingOffer;
    this.pendingOffer = undefined;
    if (role.kind === 'fixed') {
      // SIP.js answers a re-INVITE whose description fails with 488
      if (offer) throw new Error('a monitoring leg is not re-negotiated');
      this.awaitingAnswer = true;
      return { body: await role.offer(), contentType: SDP };
    }
    if (role.kind === 'caller') {
      // An INVITE without SDP would need an offer toward the caller first: not
      // offered (carriers send early offers); SIP.js answers such an INVITE 488.
      if (!offer) throw new Error('late offer from the caller is not supported');
      return { body: await role.media.answerCaller(offer), contentType: SDP };
    }
    if (offer) {
      const body = await role.media.answerAgentOffer(role.tag, offer);
      role.onOffer?.(offer);
      return { body, contentType: SDP };
    }
    this.awaitingAnswer = true;
    return { body: await role.media.offerToward(role.tag), contentType: SDP };
  }

  async setDescription(sdp: string): Promise<void> {
    if (this.role.kind === 'agent' && this.awaitingAnswer) {
      this.awaitingAnswer = false;
      await this.role.media.answerFrom(this.role.tag, sdp);
      return;
    }
    if (this.role.kind === 'fixed' && this.awaitingAnswer) {
      this.awaitingAnswer = false;
      await this.role.answer(sdp);
      return;
    }
    this.pendingOffer = sdp;
  }

  hasDescription(contentType: string): boolean {
    return contentType === SDP;
  }

  sendDtmf(): boolean {
    return false;
  }

  close(): void {
    // the call deletes its rtpengine session when it ends (CallMedia.delete)
  }
}

/** Sessions get their role before SIP.js asks for their handler (onInvite / before invite()). */
export class LegRoles {
  private readonly roles = new WeakMap<Session, LegRole>();

  set(session: Session, role: LegRole): void {
    this.roles.set(session, role);
  }

  readonly factory: SessionDescriptionHandlerFactory = (session) => {
    const role = this.roles.get(session);
    if (!role) throw new Error('call control: a session without a media role');
    return new AnchoredSdh(role);
  };
}
