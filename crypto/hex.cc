#include "crypto/hex.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstdlib>

namespace modelvault::crypto {

std::string HexEncode(std::span<const uint8_t> data) {
  if (data.empty()) return {};
  // Two digits per byte plus the terminating NUL that OpenSSL writes.
  std::string out(2 * data.size() + 1, '\0');
  size_t len = 0;
  if (OPENSSL_buf2hexstr_ex(out.data(), out.size(), &len, data.data(), data.size(), '\0') != 1) {
    std::abort();  // only fails for a buffer that is too small, which the size above rules out
  }
  out.resize(len - 1);
  // OpenSSL writes uppercase digits; the format spells identifiers in lowercase.
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

Result<std::vector<uint8_t>> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return Status::Corruption("hex string has an odd length");
  if (text.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return Status::Corruption("hex string has a character other than 0-9 and a-f");
  }
  std::vector<uint8_t> out(text.size() / 2);
  if (out.empty()) return out;
  // OPENSSL_hexstr2buf_ex reads up to a NUL, which a string_view does not promise.
  std::string terminated(text);
  size_t len = 0;
  if (OPENSSL_hexstr2buf_ex(out.data(), out.size(), &len, terminated.c_str(), '\0') != 1 ||
      len != out.size()) {
    ERR_clear_error();
    return Status::Corruption("invalid hex string");
  }
  return out;
}

}  // namespace modelvault::crypto
