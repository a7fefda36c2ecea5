/**
 * Sealed package: one file holding the masked video encrypted in chunks, its manifest in
 * the clear, the content key wrapped to a password (and optionally a recipient key), and
 * the appliance's Ed25519 signature. Format: docs/package-format.md.
 */
export { loadOrCreateSigningKey, readApplianceKey, publicKeyFingerprint, applianceIdFor, SIGNING_KEY_FILE, type SigningKey } from './signing-key.js';
export { loadTrust, trustKeys, findTrusted, parseFleetTrust, defaultDataDir, defaultFleetTrustFile, DEFAULT_FLEET_TRUST_FILE, FLEET_TRUST_FORMAT, type TrustList, type TrustedKey, type TrustSource, type TrustOptions } from './trust.js';
export { sealPackage, type SealOptions, type SealResult } from './seal.js';
export { verifyPackage, type VerifyOptions, type VerifyResult } from './verify.js';
export { openPackage, openPackageWithInfo, type OpenOptions, type OpenedPackage } from './open.js';
export { assertExtractAllowed, type Manifest, type CryptoParams } from './manifest.js';
export { describePackageLayout, type Region } from './layout.js';
export { DEFAULT_CHUNK_SIZE, DEFAULT_SCRYPT, FORMAT_VERSION, type ScryptParams } from './constants.js';
