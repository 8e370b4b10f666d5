// Tpm2Case: the tpm2 provider in the KeyProvider conformance suite (key_provider_test.cc).
// Right() and Wrong() are providers with PINs "1234" and "4321" on one swtpm that lives for
// the whole test process, started on first use (abort if swtpm cannot start: the suite
// cannot run without it). Each provider holds its TPM connection until destroyed, and swtpm
// serves one connection at a time, so keep at most one alive at once (temporaries are fine).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "crypto/kdf.h"
#include "keyprovider/key_provider.h"
#include "tests/keyprovider/tpm2/swtpm_fixture.h"

namespace modelvault::keyprovider {

namespace test {
inline Swtpm& ProcessSwtpm() {
  static std::unique_ptr<Swtpm> tpm = [] {
    auto started = Swtpm::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start swtpm: %s\n", started.status().ToString().c_str());
      std::abort();
    }
    return std::move(started).value();
  }();
  return *tpm;
}
}  // namespace test

struct Tpm2Case {
  static constexpr const char* kType = "tpm2";
  static std::unique_ptr<KeyProvider> Right() { return WithPin("1234"); }
  static std::unique_ptr<KeyProvider> Wrong() { return WithPin("4321"); }

  static std::unique_ptr<KeyProvider> WithPin(std::string_view pin) {
    Tpm2Options options;
    options.tcti = test::ProcessSwtpm().Tcti();
    options.pin = SecretBytes::CopyOf(crypto::AsBytes(pin));
    return NewTpm2Provider(std::move(options));
  }
};

}  // namespace modelvault::keyprovider
