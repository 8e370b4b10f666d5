// The pkcs11 provider (docs/FORMAT.md, "Keyslots", type pkcs11): a random 32-byte KEK, wrapped by a
// key inside a PKCS#11 token chosen by an RFC 7512 URI, seals the master key
// (internal::SealSlot). A slot holds, all authenticated as the GCM associated data:
//
//   id, type "pkcs11", created, kdf "pkcs11-wrap",
//   uri           the URI's path attributes, normalized (never a PIN or module path)
//   token_label, token_serial, key_label, key_id (hex, may be empty)
//   mechanism     "aes-key-wrap" | "rsa-oaep"       (see pkcs11_wrap.h)
//   oaep_hash     "sha1" | "sha256", rsa-oaep only
//   wrapped_kek   base64, nonce, wrapped_key
//
// "kdf" stays one value for the slot type (it versions the slot layout); the mechanism is
// its own field because one layout serves both kinds of key.
//
// Thread-safety: each call holds its module's mutex from token lookup to logout, because a
// PKCS#11 login is shared by every session of the process; so one provider may be used
// from several threads, and several providers on one module serialize.
#include <optional>

#include "crypto/base64.h"
#include "crypto/hex.h"
#include "crypto/random.h"
#include "keyprovider/key_provider.h"
#include "keyprovider/pkcs11/pkcs11_module.h"
#include "keyprovider/pkcs11/pkcs11_token.h"
#include "keyprovider/pkcs11/pkcs11_uri.h"
#include "keyprovider/pkcs11/pkcs11_wrap.h"
#include "keyprovider/slot_seal.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;
using pkcs11::Key;
using pkcs11::KeyKind;
using pkcs11::Module;
using pkcs11::Pkcs11Uri;
using pkcs11::Session;
using pkcs11::Token;

constexpr char kType[] = "pkcs11";
constexpr char kKdf[] = "pkcs11-wrap";
constexpr char kAesKeyWrap[] = "aes-key-wrap";
constexpr char kRsaOaep[] = "rsa-oaep";
constexpr size_t kKekSize = 32;
constexpr size_t kAesWrappedSize = kKekSize + 8;  // RFC 3394 adds one 64-bit block
constexpr size_t kMaxRsaWrappedSize = 2048;       // a 16384-bit modulus

constexpr KeyKind kAesKey{CKO_SECRET_KEY, CKK_AES};
constexpr KeyKind kRsaPublic{CKO_PUBLIC_KEY, CKK_RSA};
constexpr KeyKind kRsaPrivate{CKO_PRIVATE_KEY, CKK_RSA};

const char* HashName(crypto::OaepHash hash) {
  return hash == crypto::OaepHash::kSha1 ? "sha1" : "sha256";
}

// A slot's fields, checked for form and for agreeing with each other (Corruption if not).
struct SlotFields {
  Pkcs11Uri uri;
  std::string token_label, token_serial, key_label;
  std::vector<uint8_t> key_id;
  bool rsa = false;
  crypto::OaepHash hash = crypto::OaepHash::kSha256;
  std::vector<uint8_t> wrapped_kek;
};

Result<SlotFields> ReadSlot(const internal::SlotReader& reader, const json& slot) {
  SlotFields f;
  MV_ASSIGN_OR_RETURN(std::string uri, reader.String("uri"));
  MV_ASSIGN_OR_RETURN(f.token_label, reader.String("token_label"));
  MV_ASSIGN_OR_RETURN(f.token_serial, reader.String("token_serial"));
  MV_ASSIGN_OR_RETURN(f.key_label, reader.String("key_label"));
  MV_ASSIGN_OR_RETURN(std::string key_id, reader.String("key_id"));
  MV_ASSIGN_OR_RETURN(std::string mechanism, reader.String("mechanism"));
  MV_ASSIGN_OR_RETURN(std::string wrapped, reader.String("wrapped_kek"));
  auto parsed = Pkcs11Uri::Parse(uri);
  if (!parsed.ok() || parsed->module_path || parsed->pin_source) {
    return reader.Error("field \"uri\" is not a PKCS#11 URI of path attributes only");
  }
  f.uri = std::move(parsed).value();
  auto id = crypto::HexDecode(key_id);
  if (!id.ok()) return reader.Error("field \"key_id\" must be lowercase hex");
  f.key_id = std::move(id).value();
  if (mechanism != kAesKeyWrap && mechanism != kRsaOaep) {
    return reader.Error("field \"mechanism\" must be \"aes-key-wrap\" or \"rsa-oaep\"");
  }
  f.rsa = mechanism == kRsaOaep;
  if (!f.rsa && slot.contains("oaep_hash")) {
    return reader.Error("field \"oaep_hash\" belongs to rsa-oaep slots only");
  }
  if (f.rsa) {
    MV_ASSIGN_OR_RETURN(std::string hash, reader.String("oaep_hash"));
    if (hash != "sha1" && hash != "sha256") {
      return reader.Error("field \"oaep_hash\" must be \"sha1\" or \"sha256\"");
    }
    f.hash = hash == "sha1" ? crypto::OaepHash::kSha1 : crypto::OaepHash::kSha256;
  }
  auto bytes = crypto::Base64Decode(wrapped);
  bool size_ok = bytes.ok() && (f.rsa ? !bytes->empty() && bytes->size() <= kMaxRsaWrappedSize
                                      : bytes->size() == kAesWrappedSize);
  if (!size_ok) return reader.Error("field \"wrapped_kek\" must be base64 of a wrapped key");
  f.wrapped_kek = std::move(bytes).value();
  // Enrol found the token and key through the URI, so they matched it then.
  if ((f.uri.token && *f.uri.token != f.token_label) ||
      (f.uri.serial && *f.uri.serial != f.token_serial) ||
      (f.uri.object && *f.uri.object != f.key_label) || (f.uri.id && *f.uri.id != f.key_id)) {
    return reader.Error(
        "fields \"uri\", \"token_label\", \"token_serial\", \"key_label\" and "
        "\"key_id\" disagree");
  }
  return f;
}

class Pkcs11Provider final : public KeyProvider {
 public:
  explicit Pkcs11Provider(Pkcs11Options options) : options_(std::move(options)) {}

  std::string Type() const override { return kType; }

  Result<json> Enrol(const SecretBytes& master_key, const volume::VolumeId& volume_id,
                     int slot_id) override {
    if (options_.uri.empty()) {
      return Status::InvalidArgument("a pkcs11 keyslot needs a URI naming the token and key");
    }
    MV_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParseOptionsUri());
    MV_ASSIGN_OR_RETURN(std::shared_ptr<Module> module, LoadModule(uri));
    std::lock_guard<std::mutex> lock(module->mutex());
    MV_ASSIGN_OR_RETURN(Token token, pkcs11::FindToken(*module, uri));
    MV_ASSIGN_OR_RETURN(Session session, Session::Open(module, token.slot));
    pkcs11::Login login;
    if (options_.pin) MV_RETURN_IF_ERROR(pkcs11::LogIn(session, token, *options_.pin, &login));
    MV_ASSIGN_OR_RETURN(std::vector<KeyKind> kinds, EnrolKinds(uri));
    MV_ASSIGN_OR_RETURN(Key key, pkcs11::FindOneKey(session, token, uri, kinds, EnrolHint()));
    MV_ASSIGN_OR_RETURN(SecretBytes kek, crypto::RandomSecret(kKekSize));

    json slot = internal::NewSlot(slot_id, kType, kKdf);
    slot["uri"] = uri.ToString();
    slot["token_label"] = token.label;
    slot["token_serial"] = token.serial;
    slot["key_label"] = key.label;
    slot["key_id"] = crypto::HexEncode(key.id);
    std::vector<uint8_t> wrapped;
    if (key.object_class == CKO_SECRET_KEY) {
      if (!options_.pin) {
        return Status::InvalidArgument("enrolling with AES key '" + key.label +
                                       "' needs the token's PIN (--pin-file)");
      }
      MV_ASSIGN_OR_RETURN(wrapped, pkcs11::AesWrapKek(session, token, key, kek));
      slot["mechanism"] = kAesKeyWrap;
    } else {
      crypto::OaepHash hash = pkcs11::ChooseOaepHash(session, key);
      MV_ASSIGN_OR_RETURN(wrapped, pkcs11::RsaOaepWrapKek(session, key, hash, kek));
      slot["mechanism"] = kRsaOaep;
      slot["oaep_hash"] = HashName(hash);
    }
    slot["wrapped_kek"] = crypto::Base64Encode(wrapped);
    MV_RETURN_IF_ERROR(internal::SealSlot(kek, volume_id, master_key, &slot));
    return slot;
  }

  Result<SecretBytes> Unlock(const json& slot, const volume::VolumeId& volume_id) override {
    internal::SlotReader reader(slot);
    MV_RETURN_IF_ERROR(reader.Expect(kType, kKdf));
    MV_ASSIGN_OR_RETURN(SlotFields fields, ReadSlot(reader, slot));
    if (!options_.pin) {
      return Status::InvalidArgument(reader.name() + " needs the token's PIN (--pin-file)");
    }
    Pkcs11Uri uri = fields.uri;
    if (!options_.uri.empty()) {
      MV_ASSIGN_OR_RETURN(uri, ParseOptionsUri());
    } else {
      // The slot's own URI, narrowed to the very token and key it was enrolled with.
      if (!uri.serial && !fields.token_serial.empty()) uri.serial = fields.token_serial;
      if (!uri.id && !fields.key_id.empty()) uri.id = fields.key_id;
    }
    MV_ASSIGN_OR_RETURN(std::shared_ptr<Module> module, LoadModule(uri));
    std::lock_guard<std::mutex> lock(module->mutex());
    MV_ASSIGN_OR_RETURN(Token token, pkcs11::FindToken(*module, uri));
    MV_ASSIGN_OR_RETURN(Session session, Session::Open(module, token.slot));
    pkcs11::Login login;
    MV_RETURN_IF_ERROR(pkcs11::LogIn(session, token, *options_.pin, &login));
    MV_ASSIGN_OR_RETURN(std::vector<KeyKind> kinds, UnlockKinds(uri));
    MV_ASSIGN_OR_RETURN(Key key, pkcs11::FindOneKey(session, token, uri, kinds));
    // Keys of both kinds are looked for, so that a URI naming the wrong kind of key (or an
    // edited "mechanism") is told apart from a missing key.
    if ((key.object_class == CKO_PRIVATE_KEY) != fields.rsa) {
      return Status::PermissionDenied("the key does not open " + reader.name() + " (it is " +
                                      (fields.rsa ? "an AES key; the slot needs an RSA key pair"
                                                  : "an RSA key; the slot needs an AES key") +
                                      ")");
    }
    Result<SecretBytes> kek =
        fields.rsa
            ? pkcs11::RsaOaepUnwrapKek(session, key, fields.hash, fields.wrapped_kek, reader.name())
            : pkcs11::AesUnwrapKek(session, key, fields.wrapped_kek, reader.name());
    if (!kek.ok()) return kek.status();
    return internal::OpenSlot(*kek, volume_id, slot);
  }

 private:
  Result<Pkcs11Uri> ParseOptionsUri() const { return pkcs11::ParseCallerUri(options_.uri); }

  // Never a module path from the slot's URI (see LoadCallerModule).
  Result<std::shared_ptr<Module>> LoadModule(const Pkcs11Uri& uri) const {
    return pkcs11::LoadCallerModule(options_.module, uri);
  }

  static Result<std::vector<KeyKind>> EnrolKinds(const Pkcs11Uri& uri) {
    using T = Pkcs11Uri::ObjectType;
    if (!uri.type) return std::vector<KeyKind>{kAesKey, kRsaPublic};
    if (*uri.type == T::kSecretKey) return std::vector<KeyKind>{kAesKey};
    // An RSA key pair is enrolled through its public half, which needs no login.
    if (*uri.type == T::kPublic || *uri.type == T::kPrivate)
      return std::vector<KeyKind>{kRsaPublic};
    return Status::InvalidArgument("URI " + uri.ToString() +
                                   " names a certificate or data object, not a key");
  }

  static Result<std::vector<KeyKind>> UnlockKinds(const Pkcs11Uri& uri) {
    using T = Pkcs11Uri::ObjectType;
    if (!uri.type) return std::vector<KeyKind>{kAesKey, kRsaPrivate};
    if (*uri.type == T::kSecretKey) return std::vector<KeyKind>{kAesKey};
    // Either half of a key pair names the pair; the private half unwraps.
    if (*uri.type == T::kPublic || *uri.type == T::kPrivate)
      return std::vector<KeyKind>{kRsaPrivate};
    return Status::InvalidArgument("URI " + uri.ToString() +
                                   " names a certificate or data object, not a key");
  }

  std::string EnrolHint() const {
    return options_.pin ? "" : " (without the PIN, only public objects are visible)";
  }

  const Pkcs11Options options_;
};

}  // namespace

std::unique_ptr<KeyProvider> NewPkcs11Provider(Pkcs11Options options) {
  return std::make_unique<Pkcs11Provider>(std::move(options));
}

}  // namespace modelvault::keyprovider
