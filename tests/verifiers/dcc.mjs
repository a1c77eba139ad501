#!/usr/bin/env node
// Verifies a credential the way Learner Credential Wallet and VerifierPlus do, with the Digital
// Credentials Consortium's @digitalcredentials/verifier-core, and prints ONE JSON line on stdout.
// Laurel's integration tests (tests/it/interop.rs) run it; so can a reader (docs/credentials.md).
//
//   node dcc.mjs <credential.json>                 # verifier-core verifyCredential
//   node dcc.mjs --raw <credential.json>           # same, plus the full verifier-core result
//   node dcc.mjs --status-list <slc.json|URL> [--index N ...]
//        # verify a BitstringStatusListCredential's proof exactly as verifier-core's
//        # status check does (vc@8 verifyCredential, same suites + loader) and decode it
//
// Env: DCC_REGISTRIES=<file.json>  known DID registries array (default: [] => no network,
//      registered_issuer.valid=false, which LCW/VerifierPlus show as a warning).
//
// Everything verifier-core or its deps log (registry/schema fetch failures) goes to stderr.
import fs from 'node:fs';
import {createRequire} from 'node:module';

const toStderr = (...a) => process.stderr.write(a.map(x =>
  typeof x === 'string' ? x : (x instanceof Error ? x.stack : JSON.stringify(x))).join(' ') + '\n');
console.log = console.info = console.warn = console.error = console.debug = toStderr;

const args = process.argv.slice(2);
const flag = f => { const i = args.indexOf(f); if(i >= 0) { args.splice(i, 1); return true; } return false; };
const raw = flag('--raw');
const statusListMode = flag('--status-list');
const indexes = [];
for(let i; (i = args.indexOf('--index')) >= 0;) { indexes.push(parseInt(args[i + 1], 10)); args.splice(i, 2); }
if(args.length !== 1) {
  toStderr('usage: node dcc.mjs [--raw] <credential.json>\n' +
    '       node dcc.mjs --status-list <slc.json|URL> [--index N]');
  process.exit(2);
}
const out = o => process.stdout.write(JSON.stringify(o) + '\n');
const errInfo = e => e && ({name: e.name, message: e.message,
  ...(e.cause ? {cause: errInfo(e.cause)} : {}),
  ...(Array.isArray(e.errors) ? {errors: e.errors.map(errInfo)} : {})});

if(statusListMode) {
  await verifyStatusList(args[0]);
} else {
  await verifyWithVerifierCore(args[0]);
}

async function verifyWithVerifierCore(file) {
  const credential = JSON.parse(fs.readFileSync(file, 'utf8'));
  const knownDIDRegistries = process.env.DCC_REGISTRIES ?
    JSON.parse(fs.readFileSync(process.env.DCC_REGISTRIES, 'utf8')) : [];
  const {verifyCredential} = await import('@digitalcredentials/verifier-core');
  const result = await verifyCredential({credential, knownDIDRegistries});

  const errors = (result.errors ?? []).map(e => ({name: e.name, message: e.message}));
  // non-VerificationError thrown by vc.verifyCredential (e.g. validFrom in the future)
  // is left by verifier-core in `result.error` with no log
  if(result.error) {
    errors.push({name: result.error.name ?? 'error', message: result.error.message});
  }
  const checks = {};
  for(const step of result.log ?? []) {
    const prev = checks[step.id];
    const entry = {valid: step.error ? false : step.valid};
    if(step.error) entry.error = step.error;
    if(step.id === 'registered_issuer') {
      entry.matchingIssuers = step.matchingIssuers;
      entry.uncheckedRegistries = step.uncheckedRegistries;
    }
    // verifier-core may emit revocation_status twice (per-entry result + status-list error)
    checks[step.id] = prev ? {...prev, ...entry, valid: prev.valid !== false && entry.valid !== false} : entry;
  }
  if(errors.some(e => e.name === 'invalid_signature')) checks.valid_signature = {valid: false};
  const schema = result.additionalInformation?.find(a => a.id === 'schema_check');
  if(schema) {
    checks.schema_check = Array.isArray(schema.results) ?
      {valid: schema.results.every(r => r.result?.valid), results: schema.results.map(r => ({
        schema: r.schema, valid: r.result?.valid, errors: r.result?.errors}))} :
      {valid: null, results: schema.results}; // e.g. 'INVALID_SCHEMA - possibly not a valid url' offline
  }
  // registered_issuer and schema_check are advisory (warnings in LCW/VerifierPlus)
  const ADVISORY = new Set(['registered_issuer', 'schema_check']);
  const hardChecks = Object.entries(checks).filter(([id]) => !ADVISORY.has(id));
  const verified = errors.length === 0 && hardChecks.length > 0 &&
    hardChecks.every(([, c]) => c.valid === true);
  let outcome = 'valid';
  if(!verified) {
    if(errors.some(e => e.name === 'invalid_signature')) outcome = 'tampered';
    else if(errors.some(e => /is before "validFrom"/.test(e.message))) outcome = 'not_yet_valid';
    else if(errors.length) outcome = errors[0].name;
    else if(checks.expiration?.valid === false) outcome = 'expired';
    else if(checks.revocation_status?.error) outcome = checks.revocation_status.error.name;
    else if(checks.revocation_status?.valid === false) outcome = 'revoked';
    else if(checks.suspension_status?.valid === false) outcome = 'suspended';
    else outcome = 'invalid';
  }
  const line = {verified, outcome, errors, checks};
  // verifier-core discards the underlying cause of 'invalid_signature' (TLS failure,
  // DID doc mismatch, key not in assertionMethod, bad signature all look the same):
  // re-run the identical vc@10 call (Verify.js:62-68) just to recover the messages.
  if(errors.length) line.diagnostics = await diagnose(credential);
  // 'tampered' only when the Ed25519 check itself failed; otherwise key/DID problem
  if(outcome === 'tampered' && !line.diagnostics.some(d => d.endsWith('Invalid signature.'))) {
    line.outcome = 'invalid_signature';
  }
  if(raw) line.raw = JSON.parse(JSON.stringify(result, (k, v) => k === 'credential' ? undefined : v));
  out(line);
}

async function verifyStatusList(src) {
  // same building blocks verifier-core's Verify.js uses (lines 18-24)
  const {securityLoader} = await import('@digitalcredentials/security-document-loader');
  const {DataIntegrityProof} = await import('@digitalcredentials/data-integrity');
  const {cryptosuite} = await import('@digitalcredentials/eddsa-rdfc-2022-cryptosuite');
  const {Ed25519Signature2020} = await import('@digitalcredentials/ed25519-signature-2020');
  const documentLoader = securityLoader({fetchRemoteContexts: true}).build();
  const suite = [new Ed25519Signature2020(), new DataIntegrityProof({cryptosuite})];
  // the exact vc copy vc-bitstring-status-list requires (nested @digitalcredentials/vc@8)
  const bslRequire = createRequire(createRequire(import.meta.url)
    .resolve('@digitalcredentials/vc-bitstring-status-list'));
  const vc8 = bslRequire('@digitalcredentials/vc');
  const {decodeList} = bslRequire('@digitalcredentials/vc-bitstring-status-list');

  const slc = /^https?:/.test(src) ? (await documentLoader(src)).document :
    JSON.parse(fs.readFileSync(src, 'utf8'));
  const r = await vc8.verifyCredential({credential: slc, suite, documentLoader});
  const errors = [];
  if(!r.verified) errors.push(errInfo(r.error) ?? {name: 'error', message: 'not verified'});
  const checks = {};
  for(const step of r.log ?? r.error?.log ?? []) checks[step.id] = {valid: step.valid};
  // vc@8 runs the signature check first; a date-check failure (error with .log) means the
  // signature already passed, a VerificationError means it did not
  if(!checks.valid_signature) {
    checks.valid_signature = {valid: r.verified ? true :
      (r.error?.name === 'VerificationError' ? false : (r.error?.log ? true : null))};
  }
  checks.type = {valid: Array.isArray(slc.type) && slc.type.includes('BitstringStatusListCredential') &&
    slc.credentialSubject?.type === 'BitstringStatusList'};
  const info = {statusPurpose: slc.credentialSubject?.statusPurpose,
    issuer: typeof slc.issuer === 'object' ? slc.issuer?.id : slc.issuer,
    validFrom: slc.validFrom, validUntil: slc.validUntil, ttl: slc.credentialSubject?.ttl};
  try {
    const list = await decodeList({encodedList: slc.credentialSubject.encodedList});
    info.lengthBits = list.length;
    info.setBits = [];
    for(let i = 0; i < list.length && info.setBits.length < 64; i++) if(list.getStatus(i)) info.setBits.push(i);
    if(indexes.length) info.bits = Object.fromEntries(indexes.map(i => [i, list.getStatus(i)]));
    checks.encodedList = {valid: true};
  } catch(e) {
    checks.encodedList = {valid: false, error: errInfo(e)};
  }
  const verified = errors.length === 0 && Object.values(checks).every(c => c.valid === true);
  out({verified, errors, checks, statusList: info});
}

async function diagnose(credential) {
  try {
    const {securityLoader} = await import('@digitalcredentials/security-document-loader');
    const {DataIntegrityProof} = await import('@digitalcredentials/data-integrity');
    const {cryptosuite} = await import('@digitalcredentials/eddsa-rdfc-2022-cryptosuite');
    const {Ed25519Signature2020} = await import('@digitalcredentials/ed25519-signature-2020');
    const vc10 = await import('@digitalcredentials/vc');
    const r = await vc10.verifyCredential({credential,
      suite: [new Ed25519Signature2020(), new DataIntegrityProof({cryptosuite})],
      documentLoader: securityLoader({fetchRemoteContexts: true}).build(),
      checkStatus: async () => ({verified: true}), verifyMatchingIssuers: false});
    const flat = [];
    const walk = e => { if(!e) return; if(Array.isArray(e.errors)) e.errors.forEach(walk);
      else flat.push(`${e.name}: ${e.message}${e.cause ? ' <- ' + (e.cause.cause?.message ?? e.cause.message) : ''}`); };
    walk(r.error);
    return flat;
  } catch(e) { return [`diagnose failed: ${e.message}`]; }
}
