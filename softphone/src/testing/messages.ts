// What the message tests share: a message tree flattened to dotted keys, and
// the {placeholders} of one message, to compare languages key by key.

export type MessageTree = { [k: string]: string | MessageTree };

/** Every leaf message under its dotted key ("call.hold"). */
export function flattenMessages(tree: MessageTree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flattenMessages(v, key)) out.set(kk, vv);
  }
  return out;
}

/** The names of a message's {placeholders}, sorted. */
export const placeholders = (s: string): string[] =>
  [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
