#include "crypto/hex.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace modelvault::crypto {

namespace {

void ToLower(std::span<uint8_t> text) {
  // OpenSSL writes uppercase digits; the format spells hex in lowercase.
  for (uint8_t& c : text) {
    if (c >= 'A' && c <= 'F') c = static_cast<uint8_t>(c - 'A' + 'a');
  }
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> data) {
  if (data.empty()) return {};
  // Two digits per byte plus the terminating NUL that OpenSSL writes.
  std::string out(2 * data.size() + 1, '\0');
  size_t len = 0;
  if (OPENSSL_buf2hexstr_ex(out.data(), out.size(), &len, data.data(), data.size(), '\0') != 1) {
    std::abort();  // only fails for a buffer that is too small, which the size above rules out
  }
  out.resize(len - 1);
  ToLower({reinterpret_cast<uint8_t*>(out.data()), out.size()});
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

SecretBytes HexEncodeSecret(const SecretBytes& data) {
  if (data.empty()) return {};
  SecretBytes out(2 * data.size() + 1);
  size_t len = 0;
  if (OPENSSL_buf2hexstr_ex(reinterpret_cast<char*>(out.data()), out.size(), &len, data.data(),
                            data.size(), '\0') != 1) {
    std::abort();  // see HexEncode
  }
  ToLower(out.span());
  return SecretBytes::CopyOf(out.span().first(len - 1));
}

Result<SecretBytes> HexDecodeSecret(const SecretBytes& text) {
  if (text.size() % 2 != 0) return Status::InvalidArgument("odd number of hex digits");
  for (uint8_t c : text.span()) {
    if (!std::isxdigit(c)) return Status::InvalidArgument("a character other than 0-9 and a-f");
  }
  if (text.empty()) return SecretBytes();
  SecretBytes terminated(text.size() + 1);
  std::copy(text.span().begin(), text.span().end(), terminated.data());
  terminated.data()[text.size()] = 0;
  SecretBytes out(text.size() / 2);
  size_t len = 0;
  if (OPENSSL_hexstr2buf_ex(out.data(), out.size(), &len,
                            reinterpret_cast<const char*>(terminated.data()), '\0') != 1 ||
      len != out.size()) {
    ERR_clear_error();
    return Status::InvalidArgument("invalid hex digits");
  }
  return out;
}

}  // namespace modelvault::crypto
