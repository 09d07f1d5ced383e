/**
 * Guard: secrets, signatures and tokens in src/ are compared in constant time (safeEqual /
 * timingSafeEqual / the SDK's constantTimeEqual), never with ===, !==, == or !=. The scan flags
 * any equality whose operand names a secret-like value and is not a literal, typeof, null,
 * undefined or length check. Lines that compare such names for other reasons (fencing tokens,
 * cache identity, configuration sync) are listed below with why they are safe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const SECRET_NAME = /(secret|signature|password|passwd|token|hmac|digest|auth$|authKey|expected|mac$)/i;
/** Operand shapes that carry no secret value. */
const HARMLESS = /^(typeof\b.*|undefined|null|true|false|-?\d+(\.\d+)?|'[^']*'|"[^"]*"|`[^`$]*`|.*\.(length|size|kind|status|code|type|alg|holder|operation)|.*\(\)\.length)$/;

/** file → fragments of lines whose comparison is known to be safe, and why. */
const ALLOWED: Record<string, Array<[fragment: string, why: string]>> = {
  'beams/instances.ts': [['existing.secretKey === secretKey', 'start-up sync of the configured key with the stored one; no caller input']],
  'beams/providers/fcm.ts': [['this.accessToken === entry', 'cache identity of our own OAuth token object']],
  'beams/providers/apns.ts': [['current === usedToken', 'cache identity of our own provider JWT']],
  'protocol/http-signing.ts': [['c.key === authKey', 'app keys are public (every client page holds one); the secret-bearing signature is compared with hexMatchesDigest']],
  'scaling/memory-cluster-state.ts': [['token', 'in-process fencing token of the memory backend, not a credential']],
  'scaling/node-lifecycle.ts': [['token', 'node-local registration tokens of the cluster state, not credentials']],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return files(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** The operands around each equality operator on a line (a rough lexical split, fine for a guard). */
function comparisons(line: string): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  const pattern = /([\w.$?!\[\]'"`()]+)\s*(===|!==|==|!=)\s*([\w.$?!\[\]'"`()]+)/g;
  for (const m of line.matchAll(pattern)) out.push([m[1]!.replace(/^[!(]+|[)]+$/g, ''), m[2]!, m[3]!.replace(/^[!(]+|[)]+$/g, '')]);
  return out;
}

const lastName = (operand: string) => operand.split(/[.?![\]()]+/).filter(Boolean).pop() ?? '';

test('no secret, signature or token in src/ is compared with === / !== (use safeEqual)', () => {
  const findings: string[] = [];
  const allowedHits = new Set<string>();
  for (const file of files(SRC)) {
    const rel = relative(SRC, file).split('\\').join('/');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (/^\s*(\*|\/\*)/.test(code)) return;
      for (const [left, op, right] of comparisons(code)) {
        // An empty side is a parenthesised sub-expression, e.g. (a === undefined) !== (b === undefined).
        if (left === '' || right === '') continue;
        const suspicious = [left, right].some((side) => SECRET_NAME.test(lastName(side)) && !HARMLESS.test(side));
        const bothValues = !HARMLESS.test(left) && !HARMLESS.test(right);
        if (!suspicious || !bothValues) continue;
        const allowed = ALLOWED[rel]?.find(([fragment]) => code.includes(fragment));
        if (allowed) {
          allowedHits.add(`${rel}: ${allowed[0]}`);
          continue;
        }
        findings.push(`${rel}:${i + 1}: ${left} ${op} ${right}`);
      }
    });
  }
  assert.deepEqual(findings, [], 'compare these with safeEqual (src/protocol/signatures.ts), or list them in ALLOWED with a reason');
  // The allow-list must not rot: every entry still matches something.
  for (const [file, entries] of Object.entries(ALLOWED)) {
    for (const [fragment] of entries) assert.ok(allowedHits.has(`${file}: ${fragment}`), `stale allow-list entry ${file}: ${fragment}`);
  }
});

test('every credential check goes through a constant-time compare', () => {
  // The places that verify caller credentials, and the compare each must use.
  const required: Array<[file: string, needle: string]> = [
    ['protocol/signatures.ts', 'timingSafeEqual(left, right)'],
    ['protocol/signatures.ts', '(((h << 4) | l) ^ digest.charCodeAt(i))'],
    ['protocol/http-signing.ts', 'hexMatchesDigest(authSignature, hmacSha256Binary(c.secret, signed))'],
    ['protocol/http-signing.ts', 'hexMatchesDigest(bodyMd5, md5Binary(req.body))'],
    ['apps/admin-api.ts', 'safeEqual(match[1]!, adminToken)'],
    ['beams/routes-admin.ts', 'safeEqual(match[1]!, adminToken)'],
    ['beams/service.ts', 'safeEqual(token, instance.secretKey)'],
    ['console/guard.ts', 'safeEqual(token, adminToken)'],
    ['graphql/context/auth.ts', 'safeEqual(bearer[1]!, token)'],
    ['graphql/context/auth.ts', 'safeEqual(password, cred.secret)'],
    ['graphql/context/auth.ts', 'safeEqual(password, instance.secretKey)'],
    ['sdk/webhook.ts', 'constantTimeEqual(expected, signature)'],
  ];
  for (const [file, needle] of required) {
    assert.ok(readFileSync(join(SRC, file), 'utf8').includes(needle), `${file} should compare with ${needle}`);
  }
});
