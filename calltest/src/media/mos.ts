// E-model (ITU-T G.107) MOS estimate from what a receiver measured.
//
//   R   = R0 - Id - Ie_eff            (Is and A taken as 0, R0 = 93.2 at default values)
//   d   = one-way mouth-to-ear delay (ms) = network delay + packetisation (ptime)
//         + jitter buffer (2 x interarrival jitter) + codec look-ahead
//   Id  = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)          (H = step function)
//   Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)    (G.107 §7.7, random loss: BurstR = 1)
//            G.711 with packet loss concealment: Ie = 0, Bpl = 25.1 (G.113 Appendix I)
//   MOS = 1                                     R <= 0
//         1 + 0.035 R + 7e-6 R (R - 60) (100 - R)   0 < R < 100
//         4.5                                   R >= 100
//
// With no loss and little delay this gives R = 93.2 - ~0.5 → MOS 4.40, the
// ceiling for narrow-band G.711.

export interface MosInput {
  /** Packet loss, percent (0..100). */
  lossPct: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  /** Network one-way delay, ms (unknown on a single host: 0). */
  networkDelayMs?: number;
  ptimeMs?: number;
  /** Equipment impairment and packet-loss robustness of the codec. */
  ie?: number;
  bpl?: number;
}

export function rFactor(i: MosInput): number {
  const d =
    (i.networkDelayMs ?? 0) + (i.ptimeMs ?? 20) + 2 * i.jitterMs + 0.125; /* G.711 look-ahead */
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ie = i.ie ?? 0;
  const bpl = i.bpl ?? 25.1;
  const ppl = Math.max(0, Math.min(100, i.lossPct));
  const ieEff = ie + ((95 - ie) * ppl) / (ppl / 1 + bpl);
  return 93.2 - id - ieEff;
}

export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

export function mos(i: MosInput): number {
  return Math.round(mosFromR(rFactor(i)) * 100) / 100;
}
