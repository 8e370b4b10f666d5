// Pkcs11Uri: an RFC 7512 "pkcs11:" URI that names a token and a key in it, parsed into its
// percent-decoded attributes.
//
// Parse() refuses, with InvalidArgument naming the problem:
//  - anything but "pkcs11:" followed by ';'-separated path attributes and an optional
//    '?' with '&'-separated query attributes; characters outside RFC 7512's grammar; bad
//    percent escapes; a path attribute given twice; an attribute without '=';
//  - unknown path attributes: RFC 7512 says a URI with an attribute the consumer does not
//    know must not match anything, and refusing says why instead of "not found" (a typo
//    like "tokn=" would otherwise look like a missing token);
//  - "pin-value": a PIN must not live in a URI (shell history, process lists, logs); the
//    message says to use --pin-file and never repeats the value.
// Unknown query attributes are ignored, as RFC 7512 allows.
//
// ToString() gives the normalized form: the path attributes only, in a fixed order, with
// every byte outside RFC 3986's "unreserved" set percent-encoded. It is what a keyslot
// records, so no query attribute (PIN source, module path) ends up in a volume header.
// A value type; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace modelvault::keyprovider::pkcs11 {

struct Pkcs11Uri {
  enum class ObjectType { kPrivate, kPublic, kSecretKey, kCert, kData };

  // Token (CK_TOKEN_INFO).
  std::optional<std::string> token;  // label
  std::optional<std::string> manufacturer;
  std::optional<std::string> serial;
  std::optional<std::string> model;
  // Library (CK_INFO).
  std::optional<std::string> library_manufacturer;
  std::optional<std::string> library_description;
  std::optional<std::string> library_version;  // "M" or "M.N", as written
  // Slot (CK_SLOT_INFO).
  std::optional<uint64_t> slot_id;
  std::optional<std::string> slot_description;
  std::optional<std::string> slot_manufacturer;
  // Object.
  std::optional<std::string> object;       // CKA_LABEL
  std::optional<std::vector<uint8_t>> id;  // CKA_ID
  std::optional<ObjectType> type;
  // Query attributes.
  std::optional<std::string> module_path;
  std::optional<std::string> module_name;
  std::optional<std::string> pin_source;

  static Result<Pkcs11Uri> Parse(std::string_view text);
  std::string ToString() const;
};

}  // namespace modelvault::keyprovider::pkcs11
