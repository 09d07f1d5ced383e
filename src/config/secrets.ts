/**
 * Admin tokens an attacker would try first are refused at start: the examples printed in docs and
 * deployment files, placeholders ("change-me", "your-token"), and strings with little entropy
 * (`aaaaaaaaaaaaaaaa`, `0123456789abcdef`). The check is deliberately simple — a token from a random
 * generator always passes it; a human-made one often does not.
 */

/** How to make a good token, quoted in every refusal. */
export const TOKEN_HELP = 'generate one with `openssl rand -hex 32` or `node -e "console.log(crypto.randomBytes(32).toString(\'hex\'))"`';

const KNOWN_EXAMPLES = new Set(['change-me-to-a-long-random-string', 'change-me-to-a-long-random-token']);
const PLACEHOLDER = /change[-_ .]?me|replace[-_ .]?me|your[-_ .]?(admin[-_ .]?)?(token|secret)|^(admin|secret|password|token)[-_ .]?(token|secret|password)?\d*$/i;

/** Bits of information by character frequency (Shannon entropy of the string times its length). */
export function entropyBits(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= n * Math.log2(n / text.length);
  return bits;
}

/** Share of neighbouring characters that repeat or count up/down by one (`aaaa`, `abcd`, `4321`). */
function sequentialShare(text: string): number {
  let sequential = 0;
  for (let i = 1; i < text.length; i++) if (Math.abs(text.charCodeAt(i) - text.charCodeAt(i - 1)) <= 1) sequential++;
  return text.length > 1 ? sequential / (text.length - 1) : 1;
}

/** True when the token mostly repeats a shorter unit (`adminadminadmin1`, `qwertyqwerty…`). */
function repeatsItself(text: string): boolean {
  for (let period = 1; period <= text.length / 2; period++) {
    let same = 0;
    for (let i = period; i < text.length; i++) if (text[i] === text[i - period]) same++;
    if (same >= 0.75 * (text.length - period)) return true;
  }
  return false;
}

/** Why this admin token must not be used, or undefined when it may. */
export function weakTokenReason(token: string): string | undefined {
  if (KNOWN_EXAMPLES.has(token.toLowerCase()) || PLACEHOLDER.test(token)) return `is a published example or placeholder; ${TOKEN_HELP}`;
  const distinct = new Set(token).size;
  if (distinct < 6 || entropyBits(token) < 36 || sequentialShare(token) > 0.75 || repeatsItself(token)) {
    return `is too easy to guess (${distinct} different characters, repeated or in sequence); ${TOKEN_HELP}`;
  }
  return undefined;
}
