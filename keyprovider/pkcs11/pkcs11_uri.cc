#include "keyprovider/pkcs11/pkcs11_uri.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace modelvault::keyprovider::pkcs11 {
namespace {

using ObjectType = Pkcs11Uri::ObjectType;
using StringField = std::optional<std::string> Pkcs11Uri::*;

constexpr std::string_view kScheme = "pkcs11:";

// The path attributes whose values are plain strings, in the order ToString() writes them
// (slot-id, id and type sit between them and are handled apart).
struct NamedField {
  std::string_view name;
  StringField field;
};
constexpr std::array<NamedField, 10> kStringFields = {{
    {"token", &Pkcs11Uri::token},
    {"manufacturer", &Pkcs11Uri::manufacturer},
    {"serial", &Pkcs11Uri::serial},
    {"model", &Pkcs11Uri::model},
    {"library-manufacturer", &Pkcs11Uri::library_manufacturer},
    {"library-description", &Pkcs11Uri::library_description},
    {"library-version", &Pkcs11Uri::library_version},
    {"slot-description", &Pkcs11Uri::slot_description},
    {"slot-manufacturer", &Pkcs11Uri::slot_manufacturer},
    {"object", &Pkcs11Uri::object},
}};
constexpr std::array<std::pair<std::string_view, ObjectType>, 5> kTypes = {{
    {"private", ObjectType::kPrivate},
    {"public", ObjectType::kPublic},
    {"secret-key", ObjectType::kSecretKey},
    {"cert", ObjectType::kCert},
    {"data", ObjectType::kData},
}};

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 7512 pk11-pchar (path) and pk11-qchar (query), without the '%' of escapes.
bool IsAllowed(char c, bool query) {
  if (IsUnreserved(c)) return true;
  if (std::string_view(":[]@!$'()*+,=").find(c) != std::string_view::npos) return true;
  return query ? (c == '/' || c == '?' || c == '|') : c == '&';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status Malformed(std::string_view name, std::string_view what) {
  return Status::InvalidArgument("malformed PKCS#11 URI: attribute \"" + std::string(name) + "\" " +
                                 std::string(what));
}

// The octets of a percent-encoded value. Values are never echoed: one might be a PIN.
Result<std::string> Decode(std::string_view name, std::string_view raw, bool query) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%') {
      int hi = i + 2 < raw.size() ? HexValue(raw[i + 1]) : -1;
      int lo = i + 2 < raw.size() ? HexValue(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Malformed(name, "has a bad percent escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (IsAllowed(raw[i], query)) {
      out.push_back(raw[i]);
    } else {
      return Malformed(name, "has a character that must be percent-encoded");
    }
  }
  return out;
}

bool IsVersion(std::string_view v) {
  size_t dot = v.find('.');
  auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  return dot == std::string_view::npos ? digits(v)
                                       : digits(v.substr(0, dot)) && digits(v.substr(dot + 1));
}

Status SetPath(Pkcs11Uri* uri, std::string_view name, std::string value) {
  for (const NamedField& f : kStringFields) {
    if (f.name != name) continue;
    if (uri->*f.field) return Malformed(name, "appears twice");
    if (name == "library-version" && !IsVersion(value)) {
      return Malformed(name, "must be M or M.N in decimal");
    }
    uri->*f.field = std::move(value);
    return Status::Ok();
  }
  if (name == "slot-id") {
    uint64_t id = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
    if (uri->slot_id) return Malformed(name, "appears twice");
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
      return Malformed(name, "must be a decimal number");
    }
    uri->slot_id = id;
  } else if (name == "id") {
    if (uri->id) return Malformed(name, "appears twice");
    uri->id = std::vector<uint8_t>(value.begin(), value.end());
  } else if (name == "type") {
    if (uri->type) return Malformed(name, "appears twice");
    for (const auto& [text, type] : kTypes) {
      if (value == text) uri->type = type;
    }
    if (!uri->type) {
      return Malformed(name, "must be private, public, secret-key, cert or data");
    }
  } else {
    return Status::InvalidArgument("unknown PKCS#11 URI path attribute \"" + std::string(name) +
                                   "\" (a URI with an unknown attribute matches no key)");
  }
  return Status::Ok();
}

Status SetQuery(Pkcs11Uri* uri, std::string_view name, std::string value) {
  StringField field = nullptr;
  if (name == "module-path") field = &Pkcs11Uri::module_path;
  if (name == "module-name") field = &Pkcs11Uri::module_name;
  if (name == "pin-source") field = &Pkcs11Uri::pin_source;
  if (field == nullptr) return Status::Ok();  // RFC 7512: unknown query attributes are ignored
  if (uri->*field) return Malformed(name, "appears twice");
  uri->*field = std::move(value);
  return Status::Ok();
}

// Splits "a=b<sep>c=d" and hands each decoded attribute to `set`.
template <class Set>
Status ForEachAttribute(std::string_view part, char sep, bool query, Set set) {
  if (part.empty()) return Status::Ok();
  size_t start = 0;
  while (start <= part.size()) {
    size_t end = part.find(sep, start);
    if (end == std::string_view::npos) end = part.size();
    std::string_view attr = part.substr(start, end - start);
    size_t eq = attr.find('=');
    std::string_view name = attr.substr(0, eq);
    if (attr.empty()) {
      return Status::InvalidArgument("malformed PKCS#11 URI: an empty attribute");
    }
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument(
          "malformed PKCS#11 URI: every attribute must be name=value (\"" +
          std::string(eq == 0 ? "" : name.substr(0, 40)) + "\" is not)");
    }
    if (name == "pin-value") {
      return Status::InvalidArgument(
          "a PKCS#11 URI must not carry the PIN (pin-value); give it with --pin-file");
    }
    MV_ASSIGN_OR_RETURN(std::string value, Decode(name, attr.substr(eq + 1), query));
    MV_RETURN_IF_ERROR(set(name, std::move(value)));
    start = end + 1;
  }
  return Status::Ok();
}

void Append(std::string* out, std::string_view name, std::string_view value, bool encode_all) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (out->size() > kScheme.size()) out->push_back(';');
  out->append(name);
  out->push_back('=');
  for (char c : value) {
    if (!encode_all && IsUnreserved(c)) {
      out->push_back(c);
    } else {
      auto b = static_cast<uint8_t>(c);
      out->push_back('%');
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 15]);
    }
  }
}

}  // namespace

Result<Pkcs11Uri> Pkcs11Uri::Parse(std::string_view text) {
  if (text.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), text.begin(),
                  [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b + 32 : b); })) {
    return Status::InvalidArgument("a PKCS#11 URI starts with \"pkcs11:\"");
  }
  text.remove_prefix(kScheme.size());
  size_t q = text.find('?');
  std::string_view path = text.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : text.substr(q + 1);
  Pkcs11Uri uri;
  MV_RETURN_IF_ERROR(ForEachAttribute(path, ';', false, [&](std::string_view n, std::string v) {
    return SetPath(&uri, n, std::move(v));
  }));
  MV_RETURN_IF_ERROR(ForEachAttribute(query, '&', true, [&](std::string_view n, std::string v) {
    return SetQuery(&uri, n, std::move(v));
  }));
  return uri;
}

std::string Pkcs11Uri::ToString() const {
  std::string out(kScheme);
  for (const NamedField& f : kStringFields) {
    if (f.name == "slot-description" && slot_id) {
      Append(&out, "slot-id", std::to_string(*slot_id), false);
    }
    if (this->*f.field) Append(&out, f.name, *(this->*f.field), false);
  }
  if (id) Append(&out, "id", std::string(id->begin(), id->end()), true);
  for (const auto& [text, t] : kTypes) {
    if (type == t) Append(&out, "type", text, false);
  }
  return out;
}

}  // namespace modelvault::keyprovider::pkcs11
