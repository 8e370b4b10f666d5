// Choosing a token and a key by RFC 7512 URI, and logging in with messages that name the
// token. Internal to keyprovider/pkcs11; thread-compatible (callers hold Module::mutex()).
//
// Errors: no matching token or key is NotFound, more than one is InvalidArgument listing
// them (a key is never picked by guesswork), a wrong or locked PIN is PermissionDenied.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "keyprovider/pkcs11/pkcs11_module.h"
#include "keyprovider/pkcs11/pkcs11_uri.h"

namespace modelvault::keyprovider::pkcs11 {

// The URI a caller gave (a command-line option): Parse, and InvalidArgument for
// pin-source (the PIN comes from --pin-file only).
Result<Pkcs11Uri> ParseCallerUri(const std::string& text);

// The module for a caller: `module_path` (a command-line option), else the caller's URI's
// module-path, else p11-kit's proxy. Only callers may name a module: a path recorded in a
// volume header would let whoever edits the header run code in this process.
Result<std::shared_ptr<Module>> LoadCallerModule(const std::string& module_path,
                                                 const Pkcs11Uri& uri);

struct Token {
  CK_SLOT_ID slot = 0;
  std::string label;
  std::string serial;
  CK_FLAGS flags = 0;
};

// The one token, among slots with a token present, matching the URI's library, slot and
// token attributes.
Result<Token> FindToken(const Module& module, const Pkcs11Uri& uri);

// C_Login as the user. PermissionDenied "wrong PIN for token 'X'" (with what the token says
// about tries left) or "the PIN of token 'X' is locked".
Status LogIn(const Session& session, const Token& token, const SecretBytes& pin, Login* out);

// A kind of key the caller can use: object class and key type.
struct KeyKind {
  CK_OBJECT_CLASS object_class;
  CK_KEY_TYPE key_type;
};
struct Key {
  CK_OBJECT_HANDLE handle = 0;
  CK_OBJECT_CLASS object_class = 0;
  std::string label;
  std::vector<uint8_t> id;
};
// The one object of one of `kinds` matching the URI's object and id. `hint` is appended
// to NotFound (e.g. that private objects are only visible after login).
Result<Key> FindOneKey(const Session& session, const Token& token, const Pkcs11Uri& uri,
                       std::span<const KeyKind> kinds, const std::string& hint = "");

}  // namespace modelvault::keyprovider::pkcs11
