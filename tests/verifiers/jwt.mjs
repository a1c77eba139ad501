#!/usr/bin/env node
// Verifies an Open Badges 3.0 VC-JWT step by step as OB 3.0 §8.2.6 (and §9.1 for status) says, with the
// stock JOSE library `jose` and nothing but what the token names: the key comes from its `kid` URL. Prints
// ONE JSON line: {"verified", "outcome", "steps": [...]}. Outcomes: valid, tampered (signature), no_key
// (the kid URL does not answer a key: unknown or withdrawn), claims (iss/sub/jti/nbf mismatch),
// not_yet_valid, expired, revoked, suspended, status_error, malformed.
//
//   node jwt.mjs <file holding the compact JWS>
import fs from 'node:fs';
import zlib from 'node:zlib';
import * as jose from 'jose';

const steps = [];
const out = (outcome, extra = {}) => {
  process.stdout.write(JSON.stringify({verified: outcome === 'valid', outcome, steps, ...extra}) + '\n');
  process.exit(0);
};
const step = (name, ok, detail) => { steps.push({step: name, ok, ...(detail ? {detail} : {})}); return ok; };

const token = fs.readFileSync(process.argv[2], 'utf8').trim();

// 1. Base64url-decode the JOSE header.
let header;
try { header = jose.decodeProtectedHeader(token); } catch (e) { step('header', false, e.message); out('malformed'); }
step('header', ['RS256', 'ES256', 'EdDSA'].includes(header.alg) && (!header.typ || header.typ === 'JWT'), header);

// 2. The kid is a URI dereferenced to a JWK (3: no embedded jwk is used by Laurel).
async function keyOf(kid, alg) {
  if (!/^https?:\/\//.test(kid ?? '')) throw new Error(`kid ${kid} is not an absolute URL`);
  const r = await fetch(kid);
  if (!r.ok) throw new Error(`GET ${kid} answered ${r.status}`);
  const jwk = await r.json();
  if ('d' in jwk) throw new Error('the JWK holds a private key');
  return jose.importJWK(jwk, alg);
}
let key;
try { key = await keyOf(header.kid, header.alg); step('kid', true, header.kid); }
catch (e) { step('kid', false, e.message); out('no_key'); }

// 4. Verify the signature (RFC 7515 §5.2); 5. decode the payload as JSON.
let payload;
try {
  const {payload: bytes} = await jose.compactVerify(token, key);
  payload = JSON.parse(new TextDecoder().decode(bytes));
  step('signature', true);
} catch (e) { step('signature', false, e.message); out('tampered'); }
const vc = payload.vc ?? payload;

// 6. The claims must match the credential.
const secs = (s) => Math.floor(Date.parse(s) / 1000);
const issuer = typeof vc.issuer === 'string' ? vc.issuer : vc.issuer?.id;
const claims = [
  ['iss', payload.iss === issuer],
  ['sub', payload.sub === vc.credentialSubject?.id],
  ['jti', payload.jti === vc.id],
  ['nbf', payload.nbf === secs(vc.validFrom)],
  ['exp', vc.validUntil === undefined ? payload.exp === undefined : payload.exp === secs(vc.validUntil)],
];
for (const [c, ok] of claims) if (!step(`claim ${c}`, ok)) out('claims');
const now = Math.floor(Date.now() / 1000);
if (!step('validFrom', payload.nbf <= now)) out('not_yet_valid');
if (!step('validUntil', payload.exp === undefined || payload.exp > now)) out('expired');

// §9.1: status, from each BitstringStatusListEntry's list (itself a VC-JWT, verified the same way).
const entries = vc.credentialStatus === undefined ? [] : [vc.credentialStatus].flat();
for (const entry of entries) {
  if (entry.type !== 'BitstringStatusListEntry') { step('status', false, `unknown type ${entry.type}`); out('status_error'); }
  try {
    const r = await fetch(entry.statusListCredential, {headers: {accept: 'application/vc+jwt'}});
    if (!r.ok) throw new Error(`GET ${entry.statusListCredential} answered ${r.status}`);
    const listJwt = (await r.text()).trim();
    const h = jose.decodeProtectedHeader(listJwt);
    const {payload: lp} = await jose.jwtVerify(listJwt, await keyOf(h.kid, h.alg));
    const list = (lp.vc ?? lp).credentialSubject;
    if (list.statusPurpose !== entry.statusPurpose) throw new Error('the list is for another purpose');
    const bits = zlib.gunzipSync(Buffer.from(list.encodedList.slice(1), 'base64url'));
    if (bits.length * 8 < 131072) throw new Error(`the list holds ${bits.length * 8} entries, fewer than 131072`);
    const i = Number(entry.statusListIndex);
    if (i >= bits.length * 8) throw new Error('index out of range');
    const set = (bits[i >> 3] & (0x80 >> (i & 7))) !== 0;
    step(`status ${entry.statusPurpose}`, !set, {index: i});
    if (set) out(entry.statusPurpose === 'revocation' ? 'revoked' : 'suspended');
  } catch (e) { step(`status ${entry.statusPurpose}`, false, e.message); out('status_error'); }
}
out('valid', {credential: vc.id});
