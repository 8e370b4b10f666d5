#include "keyprovider/pkcs11/pkcs11_wrap.h"

namespace modelvault::keyprovider::pkcs11 {
namespace {

constexpr size_t kKekSize = 32;
// Shorter RSA keys are refused: the KEK deserves at least 112-bit security.
constexpr size_t kMinModulusBytes = 256;

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;
CK_OBJECT_CLASS kSecretClass = CKO_SECRET_KEY;
CK_KEY_TYPE kGenericSecret = CKK_GENERIC_SECRET;

// Errors that say nothing about whether the key fits the slot: the token, the session or
// the login failed. Everything else the token reports while unwrapping means "not this key".
bool IsEnvironmentError(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_FUNCTION_NOT_SUPPORTED:
      return true;
    default:
      return IsDeviceError(rv);
  }
}

Status DoesNotOpen(const std::string& slot_name, std::string_view what, CK_RV rv) {
  if (IsEnvironmentError(rv)) return RvError(what, rv);
  return Status::PermissionDenied("the key does not open " + slot_name);
}

CK_RSA_PKCS_OAEP_PARAMS OaepParams(crypto::OaepHash hash) {
  CK_RSA_PKCS_OAEP_PARAMS params{};
  params.hashAlg = hash == crypto::OaepHash::kSha1 ? CKM_SHA_1 : CKM_SHA256;
  params.mgf = hash == crypto::OaepHash::kSha1 ? CKG_MGF1_SHA1 : CKG_MGF1_SHA256;
  params.source = CKZ_DATA_SPECIFIED;  // with no data: the empty label, as OpenSSL uses
  return params;
}

bool TokenTakesOaep(const Session& session, const Key& public_key, crypto::OaepHash hash) {
  CK_RSA_PKCS_OAEP_PARAMS params = OaepParams(hash);
  CK_MECHANISM mech{CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
  if (session.fn()->C_EncryptInit(session.handle(), &mech, public_key.handle) != CKR_OK) {
    return false;
  }
  // End the operation the only portable way, by performing it.
  uint8_t in[kKekSize] = {};
  std::vector<uint8_t> out(2048);
  CK_ULONG out_len = out.size();
  session.fn()->C_Encrypt(session.handle(), in, sizeof(in), out.data(), &out_len);
  return true;
}

}  // namespace

Result<std::vector<uint8_t>> AesWrapKek(const Session& session, const Token& token, const Key& key,
                                        const SecretBytes& kek) {
  CK_FUNCTION_LIST* fn = session.fn();
  CK_MECHANISM_INFO info{};
  if (fn->C_GetMechanismInfo(token.slot, CKM_AES_KEY_WRAP, &info) != CKR_OK ||
      !(info.flags & CKF_WRAP)) {
    return Status::Unsupported("token '" + token.label +
                               "' cannot wrap keys with CKM_AES_KEY_WRAP (RFC 3394)");
  }
  // The KEK enters the token as a private session object that may be wrapped but not read.
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &kSecretClass, sizeof(kSecretClass)},
      {CKA_KEY_TYPE, &kGenericSecret, sizeof(kGenericSecret)},
      {CKA_TOKEN, &kFalse, sizeof(kFalse)},
      {CKA_PRIVATE, &kTrue, sizeof(kTrue)},
      {CKA_SENSITIVE, &kTrue, sizeof(kTrue)},
      {CKA_EXTRACTABLE, &kTrue, sizeof(kTrue)},
      {CKA_VALUE, const_cast<uint8_t*>(kek.data()), kek.size()},
  };
  CK_OBJECT_HANDLE object = 0;
  CK_RV rv = fn->C_CreateObject(session.handle(), tmpl, std::size(tmpl), &object);
  if (rv != CKR_OK) return RvError("C_CreateObject (the KEK as a session key)", rv);
  ObjectGuard guard(session, object);
  CK_MECHANISM mech{CKM_AES_KEY_WRAP, nullptr, 0};
  CK_ULONG size = 0;
  rv = fn->C_WrapKey(session.handle(), &mech, key.handle, object, nullptr, &size);
  std::vector<uint8_t> wrapped(size);
  if (rv == CKR_OK)
    rv = fn->C_WrapKey(session.handle(), &mech, key.handle, object, wrapped.data(), &size);
  if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED) {
    return Status::InvalidArgument("key '" + key.label + "' may not wrap keys (CKA_WRAP is false)");
  }
  if (rv != CKR_OK) return RvError("C_WrapKey (CKM_AES_KEY_WRAP)", rv);
  wrapped.resize(size);
  return wrapped;
}

Result<SecretBytes> AesUnwrapKek(const Session& session, const Key& key,
                                 std::span<const uint8_t> wrapped, const std::string& slot_name) {
  // Readable only so that we can take its value out, then destroyed.
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &kSecretClass, sizeof(kSecretClass)},
      {CKA_KEY_TYPE, &kGenericSecret, sizeof(kGenericSecret)},
      {CKA_TOKEN, &kFalse, sizeof(kFalse)},
      {CKA_PRIVATE, &kTrue, sizeof(kTrue)},
      {CKA_SENSITIVE, &kFalse, sizeof(kFalse)},
      {CKA_EXTRACTABLE, &kTrue, sizeof(kTrue)},
  };
  CK_MECHANISM mech{CKM_AES_KEY_WRAP, nullptr, 0};
  CK_OBJECT_HANDLE object = 0;
  CK_RV rv = session.fn()->C_UnwrapKey(session.handle(), &mech, key.handle,
                                       const_cast<uint8_t*>(wrapped.data()), wrapped.size(), tmpl,
                                       std::size(tmpl), &object);
  if (rv != CKR_OK) return DoesNotOpen(slot_name, "C_UnwrapKey (CKM_AES_KEY_WRAP)", rv);
  ObjectGuard guard(session, object);
  MV_ASSIGN_OR_RETURN(SecretBytes kek, session.SecretAttribute(object, CKA_VALUE));
  if (kek.size() != kKekSize) return Status::PermissionDenied("the key does not open " + slot_name);
  return kek;
}

crypto::OaepHash ChooseOaepHash(const Session& session, const Key& public_key) {
  if (TokenTakesOaep(session, public_key, crypto::OaepHash::kSha256)) {
    return crypto::OaepHash::kSha256;
  }
  if (TokenTakesOaep(session, public_key, crypto::OaepHash::kSha1)) {
    return crypto::OaepHash::kSha1;
  }
  return crypto::OaepHash::kSha256;
}

Result<std::vector<uint8_t>> RsaOaepWrapKek(const Session& session, const Key& public_key,
                                            crypto::OaepHash hash, const SecretBytes& kek) {
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> modulus,
                      session.Attribute(public_key.handle, CKA_MODULUS));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> exponent,
                      session.Attribute(public_key.handle, CKA_PUBLIC_EXPONENT));
  size_t leading_zeros = 0;
  while (leading_zeros < modulus.size() && modulus[leading_zeros] == 0) ++leading_zeros;
  if (modulus.size() - leading_zeros < kMinModulusBytes) {
    return Status::InvalidArgument("RSA key '" + public_key.label +
                                   "' is shorter than 2048 bits; use a larger key");
  }
  return crypto::RsaOaepEncrypt(modulus, exponent, hash, kek.span());
}

Result<SecretBytes> RsaOaepUnwrapKek(const Session& session, const Key& private_key,
                                     crypto::OaepHash hash, std::span<const uint8_t> wrapped,
                                     const std::string& slot_name) {
  CK_FUNCTION_LIST* fn = session.fn();
  CK_RSA_PKCS_OAEP_PARAMS params = OaepParams(hash);
  CK_MECHANISM mech{CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
  CK_RV rv = fn->C_DecryptInit(session.handle(), &mech, private_key.handle);
  if (rv != CKR_OK) return DoesNotOpen(slot_name, "C_DecryptInit (CKM_RSA_PKCS_OAEP)", rv);
  auto* in = const_cast<uint8_t*>(wrapped.data());
  CK_ULONG size = 0;
  rv = fn->C_Decrypt(session.handle(), in, wrapped.size(), nullptr, &size);
  if (rv != CKR_OK) return DoesNotOpen(slot_name, "C_Decrypt (CKM_RSA_PKCS_OAEP)", rv);
  SecretBytes plain(size);
  rv = fn->C_Decrypt(session.handle(), in, wrapped.size(), plain.data(), &size);
  if (rv != CKR_OK) return DoesNotOpen(slot_name, "C_Decrypt (CKM_RSA_PKCS_OAEP)", rv);
  if (size != kKekSize) return Status::PermissionDenied("the key does not open " + slot_name);
  // `plain` may be larger than the KEK; the copy is exact and `plain` is wiped when freed.
  return SecretBytes::CopyOf(plain.span().first(kKekSize));
}

}  // namespace modelvault::keyprovider::pkcs11
