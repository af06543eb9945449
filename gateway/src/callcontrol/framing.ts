// SIP over a byte stream (RFC 3261 §18.3): a message ends after its header
// block and Content-Length bytes of body. No npm package frames SIP on a TCP
// stream for SIP.js (its transports are message-based WebSockets), so this
// small splitter is ours. CRLF keep-alives (RFC 5626 §3.5.1) between messages
// are skipped.

const HEADER_END = '\r\n\r\n';
/** A header block longer than this is not SIP: the peer is broken or hostile. */
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;

export class SipStreamFramer {
  private buffer: Buffer = Buffer.alloc(0);

  /** Feed received bytes; returns the complete messages they finish. Throws on a stream that cannot be SIP. */
  push(chunk: Buffer): string[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const out: string[] = [];
    for (;;) {
      // keep-alive CRLFs before a message
      let start = 0;
      while (
        start + 1 < this.buffer.length &&
        this.buffer[start] === 0x0d &&
        this.buffer[start + 1] === 0x0a
      )
        start += 2;
      if (start) this.buffer = this.buffer.subarray(start);
      const end = this.buffer.indexOf(HEADER_END);
      if (end < 0) {
        if (this.buffer.length > MAX_HEADER_BYTES) throw new Error('SIP header block too long');
        return out;
      }
      const head = this.buffer.subarray(0, end).toString('utf8');
      const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im.exec(head);
      // Over a stream Content-Length is mandatory (RFC 3261 §18.3, §20.14).
      if (!m) throw new Error('SIP message over TCP without Content-Length');
      const bodyLength = Number(m[1]);
      if (bodyLength > MAX_BODY_BYTES) throw new Error(`SIP body of ${bodyLength} bytes refused`);
      const total = end + HEADER_END.length + bodyLength;
      if (this.buffer.length < total) return out;
      out.push(this.buffer.subarray(0, total).toString('utf8'));
      this.buffer = this.buffer.subarray(total);
    }
  }
}
