// The two ways a token key protects a keyslot's 32-byte KEK (docs/FORMAT.md, "pkcs11
// slots"). Internal to keyprovider/pkcs11; thread-compatible (callers hold
// Module::mutex() and are logged in where the token needs it).
//
//  - "aes-key-wrap": CKM_AES_KEY_WRAP (RFC 3394) by a non-extractable AES key, through
//    C_WrapKey/C_UnwrapKey. The KEK only exists in the token as a temporary, private
//    session object, destroyed right after. RFC 3394's integrity check makes a wrong key
//    fail inside the token.
//  - "rsa-oaep": RSA-OAEP to the public key, done in software (crypto/rsa_oaep.h) so that
//    enrolling needs no PIN; unwrapped with C_Decrypt(CKM_RSA_PKCS_OAEP) by the private key.
//
// Unwrapping failures the token blames on the data or the key are PermissionDenied "the key
// does not open keyslot N", the message every provider gives for a wrong secret.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/rsa_oaep.h"
#include "keyprovider/pkcs11/pkcs11_module.h"
#include "keyprovider/pkcs11/pkcs11_token.h"

namespace modelvault::keyprovider::pkcs11 {

// Unsupported if the token has no CKM_AES_KEY_WRAP for wrapping.
Result<std::vector<uint8_t>> AesWrapKek(const Session& session, const Token& token, const Key& key,
                                        const SecretBytes& kek);
Result<SecretBytes> AesUnwrapKek(const Session& session, const Key& key,
                                 std::span<const uint8_t> wrapped, const std::string& slot_name);

// The OAEP hash to enrol with: SHA-256 if the token accepts it for this public key, else
// SHA-1 if it accepts that (SoftHSM 2.6 does OAEP with SHA-1 only), else SHA-256. Asked of
// the token by C_EncryptInit, which needs no login for a public key.
crypto::OaepHash ChooseOaepHash(const Session& session, const Key& public_key);
Result<std::vector<uint8_t>> RsaOaepWrapKek(const Session& session, const Key& public_key,
                                            crypto::OaepHash hash, const SecretBytes& kek);
Result<SecretBytes> RsaOaepUnwrapKek(const Session& session, const Key& private_key,
                                     crypto::OaepHash hash, std::span<const uint8_t> wrapped,
                                     const std::string& slot_name);

}  // namespace modelvault::keyprovider::pkcs11
