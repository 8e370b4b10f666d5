#include "crypto/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace modelvault::crypto {
namespace {

// EVP_EncodeBlock/EVP_DecodeBlock do the coding; the URL-safe form only swaps two letters
// of the alphabet and drops the padding, so it is a translation of their output.
std::string Encode(std::span<const uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::vector<uint8_t>> Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::Corruption("base64 length is not a multiple of 4");
  std::vector<uint8_t> out(text.size() / 4 * 3 + 1);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return Status::Corruption("invalid base64");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    pad = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  out.resize(static_cast<size_t>(n) - pad);
  // Only canonical encodings are accepted, so that one value has one spelling.
  if (Encode(out) != text) return Status::Corruption("non-canonical base64");
  return out;
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> data) { return Encode(data); }

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) { return Decode(text); }

std::string Base64UrlEncode(std::span<const uint8_t> data) {
  std::string s = Encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  std::replace(s.begin(), s.end(), '+', '-');
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

Result<std::vector<uint8_t>> Base64UrlDecode(std::string_view text) {
  if (text.find_first_of("+/=") != std::string_view::npos) {
    return Status::Corruption("invalid base64url");
  }
  std::string s(text);
  std::replace(s.begin(), s.end(), '-', '+');
  std::replace(s.begin(), s.end(), '_', '/');
  if (s.size() % 4 == 1) return Status::Corruption("invalid base64url length");
  while (s.size() % 4 != 0) s.push_back('=');
  return Decode(s);
}

}  // namespace modelvault::crypto
