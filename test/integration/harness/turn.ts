import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

// Just enough TURN (RFC 5766/8656) over UDP to prove coturn accepts the
// gateway's REST credentials: an Allocate, its 401 with realm and nonce, and
// the Allocate again with the long-term credential's MESSAGE-INTEGRITY.

const MAGIC = 0x2112a442;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
} as const;

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function message(type: number, attrs: Buffer[], integrityKey?: Buffer): Buffer {
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC, 4);
  randomBytes(12).copy(header, 8);
  if (!integrityKey) {
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  // Length covers the MESSAGE-INTEGRITY attribute (24 bytes) the HMAC is computed without.
  header.writeUInt16BE(body.length + 24, 2);
  const hmac = createHmac('sha1', integrityKey)
    .update(Buffer.concat([header, body]))
    .digest();
  return Buffer.concat([header, body, attr(ATTR.MESSAGE_INTEGRITY, hmac)]);
}

function parse(b: Buffer): { type: number; attrs: Map<number, Buffer> } {
  const attrs = new Map<number, Buffer>();
  let off = 20;
  const end = 20 + b.readUInt16BE(2);
  while (off + 4 <= end) {
    const t = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    attrs.set(t, b.subarray(off + 4, off + 4 + len));
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { type: b.readUInt16BE(0), attrs };
}

function errorCode(v: Buffer | undefined): number {
  return v ? v[2]! * 100 + v[3]! : 0;
}

type Socket = ReturnType<typeof createSocket>;

function exchange(sock: Socket, host: string, port: number, req: Buffer, timeoutMs = 2000) {
  return new Promise<ReturnType<typeof parse>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no TURN answer from ${host}:${port}`)), timeoutMs);
    sock.once('message', (m) => {
      clearTimeout(t);
      resolve(parse(m));
    });
    sock.send(req, port, host);
  });
}

/** Allocate a UDP relay with long-term credentials; returns the final STUN class/method and error code. */
export async function turnAllocate(
  host: string,
  port: number,
  username: string,
  password: string,
): Promise<{ ok: boolean; error: number; relayPort?: number }> {
  // The nonce belongs to this client's transport address: one socket for both requests.
  const sock = createSocket('udp4');
  try {
    return await allocate(sock, host, port, username, password);
  } finally {
    sock.close();
  }
}

async function allocate(
  sock: Socket,
  host: string,
  port: number,
  username: string,
  password: string,
) {
  const transport = attr(ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
  const first = await exchange(sock, host, port, message(0x0003, [transport]));
  if (errorCode(first.attrs.get(ATTR.ERROR_CODE)) !== 401) {
    return { ok: false, error: errorCode(first.attrs.get(ATTR.ERROR_CODE)) };
  }
  const realm = first.attrs.get(ATTR.REALM) ?? Buffer.alloc(0);
  const nonce = first.attrs.get(ATTR.NONCE) ?? Buffer.alloc(0);
  const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
  const second = await exchange(
    sock,
    host,
    port,
    message(
      0x0003,
      [
        attr(ATTR.USERNAME, Buffer.from(username)),
        attr(ATTR.REALM, realm),
        attr(ATTR.NONCE, nonce),
        transport,
      ],
      key,
    ),
  );
  if (second.type === 0x0103) {
    const relay = second.attrs.get(ATTR.XOR_RELAYED_ADDRESS);
    return {
      ok: true,
      error: 0,
      relayPort: relay ? relay.readUInt16BE(2) ^ (MAGIC >>> 16) : undefined,
    };
  }
  return { ok: false, error: errorCode(second.attrs.get(ATTR.ERROR_CODE)) };
}
