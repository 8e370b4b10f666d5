// Signing with a publisher key that never leaves a PKCS#11 token (SoftHSM2): an ECDSA P-256
// key signs through the token, a reader trusting the exported public key reads the
// directory, `verify` accepts it, and a wrong PIN signs nothing.
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/keyprovider/pkcs11/softhsm_fixture.h"

namespace modelvault::fs::test {
namespace {

using modelvault::test::SoftHsmFixture;

class SignedPkcs11Test : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }
};

TEST_F(SignedPkcs11Test, ATokenKeySignsAndATrustingReaderReads) {
  auto hsm = SoftHsmFixture::New();
  ASSERT_TRUE(hsm.ok()) << hsm.status().ToString();
  const std::string token = (*hsm)->token_label();
  ASSERT_TRUE((*hsm)->AddEcKeyPair(token, (*hsm)->user_pin(), "publisher", "0a").ok());
  auto der = (*hsm)->ExportPublicKey(token, "publisher");
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  std::ofstream(T("pub.der"), std::ios::binary) << *der;
  ASSERT_EQ(RunCommand({"openssl", "pkey", "-pubin", "-inform", "DER", "-in", T("pub.der"),
                        "-outform", "PEM", "-out", T("pub.pem")})
                .exit_code,
            0);
  std::ofstream(T("pin")) << (*hsm)->user_pin() << "\n";
  std::ofstream(T("wrong-pin")) << "00000000\n";
  const std::string uri = "pkcs11:token=" + token + ";object=publisher;type=private";

  ASSERT_TRUE(Mount());
  ASSERT_EQ(::mkdir(M("model").c_str(), 0755), 0);
  const std::string weights = PatternBytes(5, 3 * 4096 + 17);
  ASSERT_EQ(WriteFile(M("model/weights.bin"), weights), 0);
  const std::vector<std::string> module = {"--pkcs11-module", SoftHsmFixture::ModulePath()};
  std::vector<std::string> wrong = {"sign", M("model"),   "--signing-key",
                                    uri,    "--pin-file", T("wrong-pin")};
  wrong.insert(wrong.end(), module.begin(), module.end());
  EXPECT_TRUE(FailedCleanly(RunCli(wrong), "PIN"));
  EXPECT_EQ(WriteFile(M("model/weights.bin"), weights), 0) << "a failed sign left it frozen";
  std::vector<std::string> sign = {"sign", M("model"),   "--signing-key",
                                   uri,    "--pin-file", T("pin")};
  sign.insert(sign.end(), module.begin(), module.end());
  CliResult signed_ = RunCli(sign);
  ASSERT_TRUE(signed_.ok()) << signed_.Describe();
  ASSERT_TRUE(Unmount());

  CliResult verify = RunCli({"verify", backing(), "--trust", T("pub.pem")});
  EXPECT_TRUE(verify.ok()) << verify.Describe();
  ASSERT_TRUE(Mount(backing(), mountpoint(), keyfile(),
                    {"--read-only", "--trust", T("pub.pem"), "--require-signatures"}));
  EXPECT_TRUE(FileHolds(M("model/weights.bin"), weights));
  ASSERT_TRUE(Unmount());
}

}  // namespace
}  // namespace modelvault::fs::test
