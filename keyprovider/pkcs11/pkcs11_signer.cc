// The PKCS#11 manifest signer (keyprovider/pkcs11_signer.h). New finds the token and key,
// reads the public key and checks the mechanism once; every Sign logs in again, finds the
// same key through a URI narrowed to it, signs and logs out, so that no login outlives a
// call (PKCS#11 logins are shared by every session of the process on a token).
#include "keyprovider/pkcs11_signer.h"

#include <cstring>
#include <mutex>

#include "crypto/ecdsa_p256.h"
#include "crypto/ed25519.h"
#include "crypto/hex.h"
#include "keyprovider/pkcs11/pkcs11_ec.h"
#include "keyprovider/pkcs11/pkcs11_module.h"
#include "keyprovider/pkcs11/pkcs11_token.h"
#include "keyprovider/pkcs11/pkcs11_uri.h"

namespace modelvault::keyprovider {
namespace {

using pkcs11::EcCurve;
using pkcs11::Key;
using pkcs11::KeyKind;
using pkcs11::Module;
using pkcs11::Pkcs11Uri;
using pkcs11::Session;
using pkcs11::Token;

constexpr char kNeedPin[] = "the token's PIN is needed to sign (--pin-file)";
constexpr char kSigningKeyHint[] = " (signing needs a P-256 or Ed25519 private key)";
constexpr KeyKind kEcPrivate{CKO_PRIVATE_KEY, CKK_EC};
constexpr KeyKind kEdPrivate{CKO_PRIVATE_KEY, CKK_EC_EDWARDS};
constexpr KeyKind kSigningKinds[] = {kEdPrivate, kEcPrivate};
constexpr size_t kSignatureSize = 64;  // Ed25519, and P-256 r || s
static_assert(kSignatureSize == crypto::kP256SignatureSize);

// A logged-in session on the key's token, and the key. Members are destroyed in reverse
// order: logout, then close the session.
struct OpenKey {
  Token token;
  Session session;
  pkcs11::Login login;
  Key key;
};

Result<OpenKey> Open(std::shared_ptr<Module> module, const Pkcs11Uri& uri, const SecretBytes& pin,
                     std::span<const KeyKind> kinds) {
  MV_ASSIGN_OR_RETURN(Token token, pkcs11::FindToken(*module, uri));
  MV_ASSIGN_OR_RETURN(Session session, Session::Open(std::move(module), token.slot));
  pkcs11::Login login;
  MV_RETURN_IF_ERROR(pkcs11::LogIn(session, token, pin, &login));
  MV_ASSIGN_OR_RETURN(Key key, pkcs11::FindOneKey(session, token, uri, kinds, kSigningKeyHint));
  return OpenKey{std::move(token), std::move(session), std::move(login), std::move(key)};
}

std::string Describe(const Token& token, const Key& key) {
  return "key '" + key.label + "' (id " + (key.id.empty() ? "none" : crypto::HexEncode(key.id)) +
         ") in token '" + token.label + "'";
}

// One attribute of a key, with an error that names the key.
Result<std::vector<uint8_t>> KeyAttribute(const OpenKey& open, CK_OBJECT_HANDLE object,
                                          CK_ATTRIBUTE_TYPE type, const char* name) {
  auto value = open.session.Attribute(object, type);
  if (!value.ok()) {
    return value.status().Annotate("reading " + std::string(name) + " of " +
                                   Describe(open.token, open.key));
  }
  return value;
}

// The curve of the private key, which must agree with its key type.
Result<EcCurve> KeyCurve(const OpenKey& open) {
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> type,
                      KeyAttribute(open, open.key.handle, CKA_KEY_TYPE, "CKA_KEY_TYPE"));
  CK_KEY_TYPE key_type = 0;
  if (type.size() != sizeof(key_type)) return Status::Internal("CKA_KEY_TYPE has a wrong size");
  std::memcpy(&key_type, type.data(), sizeof(key_type));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> params,
                      KeyAttribute(open, open.key.handle, CKA_EC_PARAMS, "CKA_EC_PARAMS"));
  auto curve = pkcs11::CurveFromEcParams(params);
  if (!curve.ok()) return curve.status().Annotate(Describe(open.token, open.key));
  if ((key_type == CKK_EC_EDWARDS) != (*curve == EcCurve::kEd25519)) {
    return Status::InvalidArgument(Describe(open.token, open.key) +
                                   " has a CKA_EC_PARAMS that does not fit its key type");
  }
  return curve;
}

// Tokens may keep the point on the private key (PKCS#11 3.0 allows it); SoftHSM does not,
// and then the public key is the one public object with the private key's ID (or label).
Result<std::vector<uint8_t>> ReadPublicKey(const OpenKey& open, EcCurve curve) {
  const std::string what = Describe(open.token, open.key);
  if (auto point = open.session.Attribute(open.key.handle, CKA_EC_POINT);
      point.ok() && !point->empty()) {
    auto key = pkcs11::PublicKeyFromEcPoint(curve, *point);
    return key.ok() ? key : Result<std::vector<uint8_t>>(key.status().Annotate(what));
  }
  if (open.key.id.empty() && open.key.label.empty()) {
    return Status::NotFound(what + " has no CKA_EC_POINT, nor an ID or label to find its " +
                            "public key object by");
  }
  Pkcs11Uri by_id;
  if (open.key.id.empty()) {
    by_id.object = open.key.label;
  } else {
    by_id.id = open.key.id;
  }
  const KeyKind kind{CKO_PUBLIC_KEY, curve == EcCurve::kEd25519 ? CKK_EC_EDWARDS : CKK_EC};
  auto pub = pkcs11::FindOneKey(open.session, open.token, by_id, {&kind, 1});
  if (!pub.ok()) return pub.status().Annotate("finding the public key of " + what);
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> params,
                      KeyAttribute(open, pub->handle, CKA_EC_PARAMS, "public CKA_EC_PARAMS"));
  auto pub_curve = pkcs11::CurveFromEcParams(params);
  if (!pub_curve.ok() || *pub_curve != curve) {
    return Status::InvalidArgument("the public key object of " + what + " is on another curve");
  }
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> point,
                      KeyAttribute(open, pub->handle, CKA_EC_POINT, "public CKA_EC_POINT"));
  auto key = pkcs11::PublicKeyFromEcPoint(curve, point);
  return key.ok() ? key : Result<std::vector<uint8_t>>(key.status().Annotate(what));
}

CK_MECHANISM_TYPE Mechanism(EcCurve curve) {
  return curve == EcCurve::kEd25519 ? CKM_EDDSA : CKM_ECDSA;
}

Status CheckMechanism(const OpenKey& open, EcCurve curve) {
  CK_MECHANISM_INFO info{};
  if (open.session.fn()->C_GetMechanismInfo(open.token.slot, Mechanism(curve), &info) != CKR_OK ||
      !(info.flags & CKF_SIGN)) {
    return Status::Unsupported("token '" + open.token.label + "' cannot sign with " +
                               (curve == EcCurve::kEd25519 ? "CKM_EDDSA" : "CKM_ECDSA") +
                               ", which " + Describe(open.token, open.key) + " needs");
  }
  return Status::Ok();
}

// C_SignInit + C_Sign (asking the length first, as PKCS#11 allows any token to need).
Result<std::vector<uint8_t>> TokenSign(const OpenKey& open, EcCurve curve,
                                       std::span<const uint8_t> input) {
  CK_FUNCTION_LIST* fn = open.session.fn();
  CK_SESSION_HANDLE session = open.session.handle();
  // CKM_EDDSA without parameters is pure Ed25519 (PKCS#11 3.0, 2.3.14).
  CK_MECHANISM mechanism{Mechanism(curve), nullptr, 0};
  CK_RV rv = fn->C_SignInit(session, &mechanism, open.key.handle);
  if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED) {
    return Status::PermissionDenied(Describe(open.token, open.key) +
                                    " may not sign (CKA_SIGN is false)");
  }
  if (rv != CKR_OK) return pkcs11::RvError("C_SignInit", rv);
  auto* data = const_cast<CK_BYTE*>(input.data());
  CK_ULONG len = 0;
  rv = fn->C_Sign(session, data, input.size(), nullptr, &len);
  if (rv != CKR_OK) return pkcs11::RvError("C_Sign", rv);
  std::vector<uint8_t> sig(len);
  rv = fn->C_Sign(session, data, input.size(), sig.data(), &len);
  if (rv != CKR_OK) return pkcs11::RvError("C_Sign", rv);
  sig.resize(len);
  if (sig.size() != kSignatureSize) {
    return Status::Internal(Describe(open.token, open.key) + " made a " +
                            std::to_string(sig.size()) + "-byte signature, not 64 bytes");
  }
  return sig;
}

class Pkcs11Signer final : public volume::ManifestSigner {
 public:
  struct Params {
    std::shared_ptr<Module> module;
    SecretBytes pin;
    Pkcs11Uri uri;  // narrowed to the very token and key New found
    EcCurve curve;
    std::vector<uint8_t> public_key;
    std::string description;
  };
  explicit Pkcs11Signer(Params params) : p_(std::move(params)) {}

  std::string Algorithm() const override {
    return p_.curve == EcCurve::kEd25519 ? "ed25519" : "ecdsa-p256-sha256";
  }
  std::vector<uint8_t> PublicKey() const override { return p_.public_key; }

  Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> body) override {
    // CKM_ECDSA signs a digest; CKM_EDDSA hashes inside (Ed25519 takes the message).
    std::vector<uint8_t> digest;
    if (p_.curve == EcCurve::kP256) digest = crypto::EcdsaP256Digest(body);
    std::span<const uint8_t> input = p_.curve == EcCurve::kP256 ? digest : body;
    const KeyKind kind = p_.curve == EcCurve::kEd25519 ? kEdPrivate : kEcPrivate;
    std::vector<uint8_t> sig;
    {
      std::lock_guard<std::mutex> lock(p_.module->mutex());
      MV_ASSIGN_OR_RETURN(OpenKey open, Open(p_.module, p_.uri, p_.pin, {&kind, 1}));
      MV_ASSIGN_OR_RETURN(sig, TokenSign(open, p_.curve, input));
    }
    // A public object that belongs to another key pair would otherwise go unnoticed until
    // a reader refuses the manifest.
    Status st = p_.curve == EcCurve::kP256 ? crypto::EcdsaP256Verify(p_.public_key, body, sig)
                                           : crypto::Ed25519Verify(p_.public_key, body, sig);
    if (!st.ok()) {
      return Status::Internal("the signature of " + p_.description +
                              " does not verify under the public key read from the token (" +
                              st.message() + "); is its public key object another key's?");
    }
    return sig;
  }

 private:
  const Params p_;
};

}  // namespace

Result<std::unique_ptr<volume::ManifestSigner>> NewPkcs11Signer(const Pkcs11Options& options) {
  if (options.uri.empty()) {
    return Status::InvalidArgument(
        "signing with a PKCS#11 token needs a URI naming the token and key");
  }
  if (!options.pin) return Status::InvalidArgument(kNeedPin);
  MV_ASSIGN_OR_RETURN(Pkcs11Uri uri, pkcs11::ParseCallerUri(options.uri));
  if (uri.type && *uri.type != Pkcs11Uri::ObjectType::kPrivate &&
      *uri.type != Pkcs11Uri::ObjectType::kPublic) {
    return Status::InvalidArgument("URI " + uri.ToString() +
                                   " names a secret key, certificate or data object; signing "
                                   "needs a key pair");
  }
  MV_ASSIGN_OR_RETURN(std::shared_ptr<Module> module,
                      pkcs11::LoadCallerModule(options.module, uri));
  std::lock_guard<std::mutex> lock(module->mutex());
  MV_ASSIGN_OR_RETURN(OpenKey open, Open(module, uri, *options.pin, kSigningKinds));
  MV_ASSIGN_OR_RETURN(EcCurve curve, KeyCurve(open));
  MV_RETURN_IF_ERROR(CheckMechanism(open, curve));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> public_key, ReadPublicKey(open, curve));
  // Later calls find this very key: on this token, by its ID and label.
  if (!uri.serial && !open.token.serial.empty()) uri.serial = open.token.serial;
  if (!open.key.id.empty()) uri.id = open.key.id;
  if (!open.key.label.empty()) uri.object = open.key.label;
  Pkcs11Signer::Params params{module,
                              SecretBytes::CopyOf(options.pin->span()),
                              std::move(uri),
                              curve,
                              std::move(public_key),
                              Describe(open.token, open.key)};
  return std::unique_ptr<volume::ManifestSigner>(std::make_unique<Pkcs11Signer>(std::move(params)));
}

}  // namespace modelvault::keyprovider
