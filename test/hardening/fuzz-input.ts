/**
 * Seeded random input for the surface fuzzers: JSON values with wrong types in every position,
 * hostile strings and path segments, and byte-level mutations of valid documents. Deterministic
 * for a given seed, so a failure replays with HERALD_FUZZ_SEED.
 */

export class FuzzInput {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** mulberry32 */
  random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  string(): string {
    return this.pick([
      '',
      'x',
      'a'.repeat(300),
      'b'.repeat(70_000),
      '\u0000\uffff',
      'é🙂'.repeat(this.int(40)),
      '../../etc/passwd',
      '<script>alert(1)</script>',
      "'; DROP TABLE apps; --",
      '{"json":"in a string"}',
      '%s%n%x',
      '2024-02-30',
      '9'.repeat(40),
      'presence-x',
      'private-encrypted-x',
      `${this.int(1e6)}.${this.int(1e6)}`,
    ]);
  }

  value(depth = 0): unknown {
    switch (this.int(depth > 3 ? 6 : 9)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), Number.MAX_VALUE, 1e-300]);
      case 3:
      case 4:
        return this.string();
      case 5:
        return `${this.int(1e6)}`;
      case 6:
        return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
      case 7:
        return this.object(['id', 'key', 'secret', 'name', 'enabled', 'limits', 'webhooks', 'token', 'x'], depth);
      default:
        return this.deep(this.int(200));
    }
  }

  /** An object with a random subset of `fields`, each holding a random value. */
  object(fields: readonly string[], depth = 0): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of fields) if (this.chance(0.5)) out[field] = this.value(depth + 1);
    // Own properties named like the prototype hooks, as JSON.parse would produce them.
    if (this.chance(0.1)) Object.defineProperty(out, '__proto__', { value: { polluted: true }, enumerable: true });
    if (this.chance(0.1)) out['constructor'] = { prototype: { polluted: true } };
    return out;
  }

  deep(levels: number): unknown {
    let v: unknown = 'bottom';
    for (let i = 0; i < levels; i++) v = this.chance(0.5) ? [v] : { a: v };
    return v;
  }

  /** Replaces a few characters of `text` with random ASCII (breaks syntax in interesting places). */
  mutate(text: string): string {
    const chars = [...text];
    for (let i = this.int(5) + 1; i > 0 && chars.length > 0; i--) chars[this.int(chars.length)] = String.fromCharCode(this.int(128));
    return chars.join('');
  }

  /** A path segment: usually the valid one, sometimes hostile. */
  segment(valid: string): string {
    if (this.chance(0.8)) return valid;
    return this.pick(['', '%ZZ', '..', '%2e%2e', '%2F', '%00', 'a'.repeat(600), encodeURIComponent('é🙂 x'), 'null', '-1', valid + '%20', valid.toUpperCase()]);
  }

  /** A JSON body, or something that only looks like one. */
  body(shape: () => unknown): string {
    switch (this.int(8)) {
      case 0:
        return 'not json';
      case 1:
        return '';
      case 2:
        return this.mutate(JSON.stringify(shape()) ?? 'null');
      case 3:
        return '['.repeat(5000) + ']'.repeat(5000);
      case 4:
        return JSON.stringify(this.value());
      default:
        return JSON.stringify(shape()) ?? 'null';
    }
  }
}
