import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { ContactCenterConfig, Destination } from '../config/contactCenter.js';

// Prompt and music names → files, checked once at start so a typo in the
// config is refused with its path instead of being silence on a live call.

export class ContactCenterConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`contact center config refused:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ContactCenterConfigError';
  }
}

/** Files the queue announcements are built from (Asterisk's English prompts). */
export const ANNOUNCEMENT_PROMPTS = [
  'queue-thereare',
  'queue-callswaiting',
  'queue-youarenext',
  'queue-holdtime',
  'queue-minutes',
  'queue-minute',
  'digits/hundred',
  ...Array.from({ length: 21 }, (_, i) => `digits/${i}`),
  ...[30, 40, 50, 60, 70, 80, 90].map((n) => `digits/${n}`),
];

const AUDIO = /\.(wav|gsm|ulaw|alaw|mp3|ogg|flac|sln)$/i;

export class Sounds {
  constructor(
    readonly soundsDir: string,
    readonly musicDir: string,
  ) {}

  /** A prompt: bare name → `${soundsDir}/${name}.wav`, an absolute path as is. */
  prompt(name: string): string {
    return isAbsolute(name) ? name : join(this.soundsDir, `${name}.wav`);
  }

  prompts(names: readonly string[]): string[] {
    return names.map((n) => this.prompt(n));
  }

  /** Music: a file, or a folder whose audio files play in turn. */
  music(name: string): string[] {
    const base = isAbsolute(name) ? name : join(this.musicDir, name);
    const candidates = isAbsolute(name) ? [base] : [`${base}.wav`, base];
    for (const c of candidates) {
      if (!existsSync(c)) continue;
      if (statSync(c).isDirectory()) {
        return readdirSync(c)
          .filter((f) => AUDIO.test(f))
          .sort()
          .map((f) => join(c, f));
      }
      return [c];
    }
    return [];
  }

  /** A number as Allison's digit prompts (0-999; larger numbers are said as 999). */
  number(n: number): string[] {
    const v = Math.max(0, Math.min(999, Math.round(n)));
    const out: string[] = [];
    const hundreds = Math.floor(v / 100);
    const rest = v % 100;
    if (hundreds > 0) out.push(`digits/${hundreds}`, 'digits/hundred');
    if (rest === 0 && hundreds > 0) return out.map((p) => this.prompt(p));
    if (rest <= 20) out.push(`digits/${rest}`);
    else {
      out.push(`digits/${rest - (rest % 10)}`);
      if (rest % 10) out.push(`digits/${rest % 10}`);
    }
    return out.map((p) => this.prompt(p));
  }

  /** "You are next" or "There are N calls waiting" (Asterisk's wording: N is the position). */
  position(pos: number): string[] {
    if (pos <= 1) return [this.prompt('queue-youarenext')];
    return [this.prompt('queue-thereare'), ...this.number(pos), this.prompt('queue-callswaiting')];
  }

  /** "The estimated hold time is N minutes". */
  estimatedWait(minutes: number): string[] {
    const m = Math.max(1, Math.ceil(minutes));
    return [
      this.prompt('queue-holdtime'),
      ...this.number(m),
      this.prompt(m === 1 ? 'queue-minute' : 'queue-minutes'),
    ];
  }
}

/**
 * Every file the config names must exist. Refuses with the config path of each
 * missing one, e.g. `contactCenter.ivrs[0].greeting[2]: no file /usr/.../x.wav`.
 */
export function verifySounds(cc: ContactCenterConfig, sounds: Sounds): void {
  const problems: string[] = [];
  const prompt = (name: string, path: string) => {
    const file = sounds.prompt(name);
    if (!existsSync(file)) problems.push(`${path}: no prompt file ${file} (from "${name}")`);
  };
  const usesDial = (d: Destination) => 'user' in d || 'number' in d;
  let needsDefaultMusic = false;
  cc.ivrs.forEach((ivr, i) => {
    ivr.greeting.forEach((g, j) => prompt(g, `contactCenter.ivrs[${i}].greeting[${j}]`));
    ivr.invalidPrompt.forEach((g, j) => prompt(g, `contactCenter.ivrs[${i}].invalidPrompt[${j}]`));
    if (Object.values(ivr.options).some(usesDial) || usesDial(ivr.onTimeout))
      needsDefaultMusic = true;
  });
  let announces = false;
  cc.queues.forEach((q, i) => {
    if (sounds.music(q.music).length === 0)
      problems.push(
        `contactCenter.queues[${i}].music: no music file or folder "${q.music}" (looked in ${sounds.musicDir})`,
      );
    q.joinPrompt.forEach((g, j) => prompt(g, `contactCenter.queues[${i}].joinPrompt[${j}]`));
    if (q.announce.everySec > 0 && (q.announce.position || q.announce.estimatedWait))
      announces = true;
    if (usesDial(q.overflow) || (q.exitKey && usesDial(q.exitKey.destination)))
      needsDefaultMusic = true;
  });
  if (announces)
    for (const p of ANNOUNCEMENT_PROMPTS) prompt(p, 'contactCenter.queues[*].announce');
  if (needsDefaultMusic && sounds.music(DEFAULT_MUSIC).length === 0)
    problems.push(
      `contactCenter.musicDir: no "${DEFAULT_MUSIC}" in ${sounds.musicDir} (played while a user or number rings)`,
    );
  if (problems.length) throw new ContactCenterConfigError(problems);
}

/** Played to a caller while a user or number destination rings (the queue schema's default music). */
export const DEFAULT_MUSIC = 'macroform-cold_day';
