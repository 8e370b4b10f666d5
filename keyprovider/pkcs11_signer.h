// A manifest signer (volume/manifest.h) whose private key stays inside a PKCS#11 token.
//
// The key is chosen by options.uri (RFC 7512) exactly as the pkcs11 keyslot provider
// chooses one: exactly one token, and exactly one private key of a kind that signs:
//  - an Ed25519 key (CKK_EC_EDWARDS) signs "ed25519" with CKM_EDDSA, over the body itself;
//  - a P-256 key (CKK_EC, CKA_EC_PARAMS prime256v1) signs "ecdsa-p256-sha256" with
//    CKM_ECDSA over SHA-256(body), hashed in software (crypto::EcdsaP256Digest).
// The public key is read from CKA_EC_POINT of the private key where the token keeps it,
// else from the one public key object with the private key's CKA_ID (or, without an ID,
// its label). Every signature is checked against that public key before it is returned,
// so a token whose public object does not belong to its private key fails loudly.
//
// Errors from NewPkcs11Signer: InvalidArgument "the token's PIN is needed to sign
// (--pin-file)" without a PIN; PermissionDenied for a wrong or locked PIN (naming the
// token, never the PIN); NotFound when no token or key matches; InvalidArgument when
// several do; Unsupported for a key on another curve, or a token lacking the mechanism.
// The PIN is held in locked memory for the signer's lifetime (each Sign logs in again).
//
// Thread-safety: Sign may be called any number of times, from several threads; each call
// holds the module's mutex from token lookup to logout, as the keyslot provider does.
#pragma once

#include <memory>

#include "base/result.h"
#include "keyprovider/key_provider.h"
#include "volume/manifest.h"

namespace modelvault::keyprovider {

// options.uri names the token and key; options.module is the PKCS#11 module (empty: the
// URI's module-path, else p11-kit's proxy); options.pin is required and copied.
Result<std::unique_ptr<volume::ManifestSigner>> NewPkcs11Signer(const Pkcs11Options& options);

}  // namespace modelvault::keyprovider
