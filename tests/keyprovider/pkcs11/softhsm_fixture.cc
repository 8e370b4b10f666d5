#include "tests/keyprovider/pkcs11/softhsm_fixture.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace modelvault::test {
namespace {

constexpr char kEnv[] = "SOFTHSM2_CONF";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::unique_ptr<SoftHsmFixture>> SoftHsmFixture::New() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "mv-softhsm-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno(errno, "mkdtemp " + tmpl);
  const char* old = std::getenv(kEnv);
  std::unique_ptr<SoftHsmFixture> fixture(
      new SoftHsmFixture(tmpl, old ? std::optional<std::string>(old) : std::nullopt));
  std::filesystem::create_directory(tmpl + "/tokens");
  {
    std::ofstream conf(fixture->conf_path_);
    conf << "directories.tokendir = " << tmpl << "/tokens\n"
         << "objectstore.backend = file\n"
         << "log.level = ERROR\n"
         << "slots.removable = false\n";
    if (!conf) return Status::IOError("cannot write " + fixture->conf_path_);
  }
  setenv(kEnv, fixture->conf_path_.c_str(), 1);
  MV_RETURN_IF_ERROR(fixture->InitToken(kTokenLabel, kSoPin, kUserPin));
  MV_RETURN_IF_ERROR(fixture->AddAesKey(kTokenLabel, kUserPin, kAesKeyLabel, kAesKeyId));
  MV_RETURN_IF_ERROR(fixture->AddRsaKeyPair(kTokenLabel, kUserPin, kRsaKeyLabel, kRsaKeyId));
  return fixture;
}

SoftHsmFixture::~SoftHsmFixture() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  if (saved_conf_) {
    setenv(kEnv, saved_conf_->c_str(), 1);
  } else {
    unsetenv(kEnv);
  }
}

SecretBytes SoftHsmFixture::Pin(const std::string& text) {
  return SecretBytes::CopyOf({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Status SoftHsmFixture::InitToken(const std::string& label, const std::string& so_pin,
                                 const std::string& pin) {
  return Run({"softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", so_pin,
              "--pin", pin});
}

Status SoftHsmFixture::AddAesKey(const std::string& token, const std::string& pin,
                                 const std::string& label, const std::string& id_hex) {
  // Without --extractable pkcs11-tool makes the key CKA_EXTRACTABLE=false.
  return Run({"pkcs11-tool", "--module", ModulePath(), "--token-label", token, "--login", "--pin",
              pin, "--keygen", "--key-type", "AES:32", "--label", label, "--id", id_hex,
              "--sensitive", "--usage-wrap", "--usage-decrypt"});
}

Status SoftHsmFixture::AddRsaKeyPair(const std::string& token, const std::string& pin,
                                     const std::string& label, const std::string& id_hex) {
  return Run({"pkcs11-tool", "--module", ModulePath(), "--token-label", token, "--login", "--pin",
              pin, "--keypairgen", "--key-type", "rsa:2048", "--label", label, "--id", id_hex,
              "--usage-decrypt"});
}

Status SoftHsmFixture::AddEcKeyPair(const std::string& token, const std::string& pin,
                                    const std::string& label, const std::string& id_hex,
                                    const std::string& curve) {
  return Run({"pkcs11-tool", "--module", ModulePath(), "--token-label", token, "--login", "--pin",
              pin, "--keypairgen", "--key-type", "EC:" + curve, "--label", label, "--id", id_hex,
              "--usage-sign"});
}

Status SoftHsmFixture::AddEd25519KeyPair(const std::string& token, const std::string& pin,
                                         const std::string& label, const std::string& id_hex) {
  // opensc 0.23 names the curve "edwards25519" ("ed25519" is not known to it).
  return AddEcKeyPair(token, pin, label, id_hex, "edwards25519");
}

Result<std::string> SoftHsmFixture::ExportPublicKey(const std::string& token,
                                                    const std::string& label) const {
  std::string out = dir_ + "/pubkey.out";
  MV_RETURN_IF_ERROR(Run({"pkcs11-tool", "--module", ModulePath(), "--token-label", token,
                          "--read-object", "--type", "pubkey", "--label", label, "-o", out}));
  std::string data = ReadFile(out);
  std::filesystem::remove(out);
  return data;
}

// Runs a tool with its output in dir_/tool.log, which the error quotes.
Status SoftHsmFixture::Run(const std::vector<std::string>& argv) const {
  std::string log = dir_ + "/tool.log";
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return Status::FromErrno(errno, "waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal(argv[0] + " " + argv[1] + " failed: " + ReadFile(log));
  }
  return Status::Ok();
}

}  // namespace modelvault::test
