// Pkcs11Case: the pkcs11 provider in the typed KeyProvider suite (key_provider_test.cc).
// One SoftHSM2 store per process (a function-static fixture, removed at exit) holds the
// standard token and a second token, "mv-test-2", with an AES key of the same label:
// Wrong() finds that key, which cannot unwrap the slot ("the key does not open keyslot N"),
// whereas a wrong PIN would be "wrong PIN for token ...".
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "keyprovider/key_provider.h"
#include "tests/keyprovider/pkcs11/softhsm_fixture.h"

namespace modelvault::keyprovider {

struct Pkcs11Case {
  static constexpr const char* kType = "pkcs11";
  static constexpr char kOtherToken[] = "mv-test-2";
  // The per-slot random field, where keyfile/passphrase slots have "salt" (for the suite's
  // EachEnrolmentIsFresh and "salt a number" cases): a pkcs11 slot has no "salt".
  static constexpr const char* kRandomField = "wrapped_kek";

  static test::SoftHsmFixture& Fixture() {
    static std::unique_ptr<test::SoftHsmFixture> fixture = [] {
      using F = test::SoftHsmFixture;
      auto made = F::New();
      EXPECT_TRUE(made.ok()) << made.status().ToString();
      if (!made.ok()) std::abort();
      Status st = (*made)->InitToken(kOtherToken, F::kSoPin, F::kUserPin);
      if (st.ok()) st = (*made)->AddAesKey(kOtherToken, F::kUserPin, F::kAesKeyLabel, "01");
      EXPECT_TRUE(st.ok()) << st.ToString();
      return std::move(made).value();
    }();
    return *fixture;
  }
  static std::unique_ptr<KeyProvider> Make(const char* token) {
    Fixture();
    using F = test::SoftHsmFixture;
    return NewPkcs11Provider({std::string("pkcs11:token=") + token + ";object=" + F::kAesKeyLabel,
                              F::ModulePath(), F::Pin(F::kUserPin)});
  }
  static std::unique_ptr<KeyProvider> Right() { return Make(test::SoftHsmFixture::kTokenLabel); }
  static std::unique_ptr<KeyProvider> Wrong() { return Make(kOtherToken); }
};

}  // namespace modelvault::keyprovider
