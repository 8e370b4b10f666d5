#include "keyprovider/recovery_key.h"

#include <algorithm>
#include <cctype>

#include "crypto/hex.h"
#include "crypto/random.h"

namespace modelvault::keyprovider {
namespace {

constexpr size_t kGroups = 8;
constexpr size_t kDigits = 2 * kRecoveryKeySize;
constexpr size_t kGroupDigits = kDigits / kGroups;

bool IsSkipped(uint8_t c) { return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

Result<SecretBytes> NewRecoveryKey() { return crypto::RandomSecret(kRecoveryKeySize); }

SecretBytes FormatRecoveryKey(const SecretBytes& key) {
  SecretBytes hex = crypto::HexEncodeSecret(key);
  size_t groups = (hex.size() + kGroupDigits - 1) / kGroupDigits;
  SecretBytes out(hex.size() + (groups > 0 ? groups - 1 : 0));
  size_t n = 0;
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i > 0 && i % kGroupDigits == 0) out.data()[n++] = '-';
    out.data()[n++] = hex.data()[i];
  }
  return out;
}

Result<SecretBytes> ParseRecoveryKey(const SecretBytes& text) {
  SecretBytes digits(text.size());
  size_t n = 0;
  for (uint8_t c : text.span()) {
    if (IsSkipped(c)) continue;
    if (!std::isxdigit(c)) {
      return Status::InvalidArgument(
          "a recovery key holds only hex digits 0-9 and a-f, in groups joined by dashes");
    }
    digits.data()[n++] = static_cast<uint8_t>(std::tolower(c));
  }
  if (n != kDigits) {
    return Status::InvalidArgument("a recovery key has " + std::to_string(kDigits) +
                                   " hex digits (8 groups of 8); this one has " +
                                   std::to_string(n));
  }
  return crypto::HexDecodeSecret(SecretBytes::CopyOf(digits.span().first(n)));
}

}  // namespace modelvault::keyprovider
