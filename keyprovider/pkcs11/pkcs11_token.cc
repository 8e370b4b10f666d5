#include "keyprovider/pkcs11/pkcs11_token.h"

#include <optional>

#include "crypto/hex.h"

namespace modelvault::keyprovider::pkcs11 {
namespace {

// An absent URI attribute matches anything.
bool Matches(const std::optional<std::string>& want, std::span<const unsigned char> field) {
  return !want || *want == FixedString(field);
}

bool VersionMatches(const std::optional<std::string>& want, CK_VERSION v) {
  if (!want) return true;
  // RFC 7512: a version without ".N" has minor version 0.
  std::string have = std::to_string(v.major) + "." + std::to_string(v.minor);
  return *want == have || *want + ".0" == have;
}

bool LibraryMatches(const Pkcs11Uri& uri, const CK_INFO& info) {
  return Matches(uri.library_manufacturer, info.manufacturerID) &&
         Matches(uri.library_description, info.libraryDescription) &&
         VersionMatches(uri.library_version, info.libraryVersion);
}

bool SlotMatches(const Pkcs11Uri& uri, CK_SLOT_ID id, const CK_SLOT_INFO& info) {
  return (!uri.slot_id || *uri.slot_id == id) &&
         Matches(uri.slot_description, info.slotDescription) &&
         Matches(uri.slot_manufacturer, info.manufacturerID);
}

bool TokenMatches(const Pkcs11Uri& uri, const CK_TOKEN_INFO& info) {
  return Matches(uri.token, info.label) && Matches(uri.manufacturer, info.manufacturerID) &&
         Matches(uri.serial, info.serialNumber) && Matches(uri.model, info.model);
}

std::string Describe(const Token& t) { return "'" + t.label + "' (serial " + t.serial + ")"; }

std::string Describe(const Key& k) {
  std::string kind = k.object_class == CKO_SECRET_KEY   ? "secret key"
                     : k.object_class == CKO_PUBLIC_KEY ? "public key"
                                                        : "private key";
  return kind + " '" + k.label + "' (id " + (k.id.empty() ? "none" : crypto::HexEncode(k.id)) + ")";
}

Result<std::vector<CK_SLOT_ID>> SlotsWithToken(CK_FUNCTION_LIST* fn) {
  CK_ULONG count = 0;
  CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return RvError("C_GetSlotList", rv);
  std::vector<CK_SLOT_ID> slots(count);
  rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return RvError("C_GetSlotList", rv);
  slots.resize(count);
  return slots;
}

}  // namespace

Result<Pkcs11Uri> ParseCallerUri(const std::string& text) {
  MV_ASSIGN_OR_RETURN(Pkcs11Uri uri, Pkcs11Uri::Parse(text));
  if (uri.pin_source) {
    return Status::InvalidArgument(
        "pin-source in a PKCS#11 URI is not supported; give the PIN with --pin-file");
  }
  return uri;
}

Result<std::shared_ptr<Module>> LoadCallerModule(const std::string& module_path,
                                                 const Pkcs11Uri& uri) {
  if (!module_path.empty()) return Module::Load(module_path);
  if (uri.module_path) return Module::Load(*uri.module_path);
  return Module::Load("");
}

Result<Token> FindToken(const Module& module, const Pkcs11Uri& uri) {
  CK_FUNCTION_LIST* fn = module.fn();
  CK_INFO info{};
  CK_RV rv = fn->C_GetInfo(&info);
  if (rv != CKR_OK) return RvError("C_GetInfo", rv);
  std::vector<Token> found;
  // Through p11-kit's proxy the library attributes are the proxy's, not the real module's.
  if (LibraryMatches(uri, info)) {
    MV_ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> slots, SlotsWithToken(fn));
    for (CK_SLOT_ID slot : slots) {
      CK_SLOT_INFO slot_info{};
      CK_TOKEN_INFO token_info{};
      // A token removed since C_GetSlotList is not an error: it just does not match.
      if (fn->C_GetSlotInfo(slot, &slot_info) != CKR_OK ||
          fn->C_GetTokenInfo(slot, &token_info) != CKR_OK) {
        continue;
      }
      if (SlotMatches(uri, slot, slot_info) && TokenMatches(uri, token_info)) {
        found.push_back({slot, FixedString(token_info.label), FixedString(token_info.serialNumber),
                         token_info.flags});
      }
    }
  }
  if (found.empty()) {
    return Status::NotFound("no PKCS#11 token matches URI " + uri.ToString() + " (module " +
                            module.path() + ")");
  }
  if (found.size() > 1) {
    std::string list;
    for (const Token& t : found) list += (list.empty() ? "" : ", ") + Describe(t);
    return Status::InvalidArgument(std::to_string(found.size()) + " PKCS#11 tokens match URI " +
                                   uri.ToString() + ": " + list +
                                   "; add token= or serial= to choose one");
  }
  return found.front();
}

Status LogIn(const Session& session, const Token& token, const SecretBytes& pin, Login* out) {
  CK_RV rv = Login::Open(session, pin, out);
  if (rv == CKR_OK) return Status::Ok();
  if (rv == CKR_PIN_LOCKED) {
    return Status::PermissionDenied("the PIN of token '" + token.label +
                                    "' is locked (the security officer can unblock it)");
  }
  if (rv == CKR_PIN_EXPIRED) {
    return Status::PermissionDenied("the PIN of token '" + token.label + "' has expired");
  }
  if (rv != CKR_PIN_INCORRECT && rv != CKR_PIN_LEN_RANGE) return RvError("C_Login", rv);
  // The flags after the failed try tell how close the PIN is to being locked.
  CK_TOKEN_INFO info{};
  CK_FLAGS flags = 0;
  if (session.fn()->C_GetTokenInfo(token.slot, &info) == CKR_OK) flags = info.flags;
  std::string msg = "wrong PIN for token '" + token.label + "'";
  if (flags & CKF_USER_PIN_LOCKED) {
    msg += "; the PIN is now locked";
  } else if (flags & CKF_USER_PIN_FINAL_TRY) {
    msg += "; one more wrong PIN locks it";
  } else if (flags & CKF_USER_PIN_COUNT_LOW) {
    msg += "; the token reports few tries left";
  }
  return Status::PermissionDenied(msg);
}

Result<Key> FindOneKey(const Session& session, const Token& token, const Pkcs11Uri& uri,
                       std::span<const KeyKind> kinds, const std::string& hint) {
  std::vector<Key> keys;
  for (KeyKind kind : kinds) {
    std::vector<CK_ATTRIBUTE> tmpl = {
        {CKA_CLASS, &kind.object_class, sizeof(kind.object_class)},
        {CKA_KEY_TYPE, &kind.key_type, sizeof(kind.key_type)},
    };
    std::string label = uri.object.value_or("");
    std::vector<uint8_t> id = uri.id.value_or(std::vector<uint8_t>());
    if (uri.object) tmpl.push_back({CKA_LABEL, label.data(), label.size()});
    if (uri.id) tmpl.push_back({CKA_ID, id.data(), id.size()});
    MV_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> handles, session.Find(tmpl));
    for (CK_OBJECT_HANDLE h : handles) {
      Key key{h, kind.object_class, "", {}};
      // Label and ID are optional attributes; a key without them is still a key.
      if (auto v = session.Attribute(h, CKA_LABEL); v.ok()) key.label.assign(v->begin(), v->end());
      if (auto v = session.Attribute(h, CKA_ID); v.ok()) key.id = *v;
      keys.push_back(std::move(key));
    }
  }
  if (keys.empty()) {
    return Status::NotFound("no usable key in token '" + token.label + "' matches URI " +
                            uri.ToString() + hint);
  }
  if (keys.size() > 1) {
    std::string list;
    for (const Key& k : keys) list += (list.empty() ? "" : ", ") + Describe(k);
    return Status::InvalidArgument(std::to_string(keys.size()) + " keys match URI " +
                                   uri.ToString() + " in token '" + token.label + "': " + list +
                                   "; add id= to choose one");
  }
  return keys.front();
}

}  // namespace modelvault::keyprovider::pkcs11
