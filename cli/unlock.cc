#include "cli/unlock.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/file_util.h"
#include "base/unique_fd.h"

namespace modelvault::cli {
namespace {

using keyprovider::KeyProvider;

constexpr size_t kKeyfileSize = 32;
constexpr size_t kMaxPassphrase = 4096;

Result<SecretBytes> ReadKeyfile(const std::string& path) {
  // Read a little more than a key, so that a wrong file is reported by its size.
  MV_ASSIGN_OR_RETURN(SecretBytes key, ReadSecretFile(path, 4096));
  if (key.size() != kKeyfileSize) {
    return Status::InvalidArgument(path + ": a key file must be exactly 32 bytes (this one has " +
                                   std::to_string(key.size()) + ")");
  }
  return key;
}

// Text editors end files with a newline that is not part of the passphrase.
SecretBytes WithoutLineEnd(const SecretBytes& text) {
  size_t n = text.size();
  if (n > 0 && text.data()[n - 1] == '\n') --n;
  if (n > 0 && text.data()[n - 1] == '\r') --n;
  return SecretBytes::CopyOf(text.span().first(n));
}

Result<SecretBytes> ReadPassphraseFile(const std::string& path) {
  MV_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFile(path, kMaxPassphrase));
  SecretBytes passphrase = WithoutLineEnd(text);
  if (passphrase.empty()) return Status::InvalidArgument(path + ": the passphrase is empty");
  return passphrase;
}

// Puts the terminal back as it was, however the prompt ends.
class EchoOff {
 public:
  EchoOff(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff() { tcsetattr(fd_, TCSAFLUSH, &saved_); }

 private:
  int fd_;
  termios saved_;
};

// Reads one line from the terminal with echo off. /dev/tty rather than stdin, so that the
// prompt works while stdin or stdout are redirected.
Result<SecretBytes> Prompt(const std::string& prompt) {
  UniqueFd tty(open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!tty.valid()) return Status::FromErrno(errno, "opening /dev/tty");
  termios saved;
  if (tcgetattr(tty.get(), &saved) != 0) return Status::FromErrno(errno, "/dev/tty");
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // the user still sees the line end
  if (write(tty.get(), prompt.data(), prompt.size()) < 0) {
    return Status::FromErrno(errno, "/dev/tty");
  }
  if (tcsetattr(tty.get(), TCSAFLUSH, &quiet) != 0) return Status::FromErrno(errno, "/dev/tty");
  EchoOff restore(tty.get(), saved);
  SecretBytes line(kMaxPassphrase + 1);
  size_t len = 0;
  while (len < line.size() && (len == 0 || line.data()[len - 1] != '\n')) {
    ssize_t n = read(tty.get(), line.data() + len, line.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "reading /dev/tty");
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  if (len == line.size()) return Status::InvalidArgument("the passphrase is too long");
  SecretBytes passphrase = WithoutLineEnd(SecretBytes::CopyOf(line.span().first(len)));
  if (passphrase.empty()) return Status::InvalidArgument("the passphrase is empty");
  return passphrase;
}

bool HasSlotOfType(const volume::VolumeHeader& header, const std::string& type) {
  for (const nlohmann::json& slot : header.keyslots) {
    if (slot.value("type", "") == type) return true;
  }
  return false;
}

// Providers for the files the options name: the key file first, then the passphrase file.
Result<std::vector<std::unique_ptr<KeyProvider>>> ProvidersFromFiles(const UnlockOptions& opts) {
  std::vector<std::unique_ptr<KeyProvider>> providers;
  if (!opts.keyfile.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes key, ReadKeyfile(opts.keyfile));
    providers.push_back(keyprovider::NewKeyfileProvider(std::move(key)));
  }
  if (!opts.passphrase_file.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes passphrase, ReadPassphraseFile(opts.passphrase_file));
    providers.push_back(keyprovider::NewPassphraseProvider(std::move(passphrase)));
  }
  return providers;
}

Status NoKeyGiven() {
  return Status::InvalidArgument("no key given: use --keyfile or --passphrase-file");
}

Result<std::vector<std::unique_ptr<KeyProvider>>> ProvidersForUnlock(
    const std::string& backing, const volume::VolumeHeader& header, const UnlockOptions& opts) {
  MV_ASSIGN_OR_RETURN(auto providers, ProvidersFromFiles(opts));
  // Asking for a passphrase only makes sense if someone can type it and a slot can take it.
  if (providers.empty() && isatty(STDIN_FILENO) && HasSlotOfType(header, "passphrase")) {
    MV_ASSIGN_OR_RETURN(SecretBytes passphrase, Prompt("Passphrase for " + backing + ": "));
    providers.push_back(keyprovider::NewPassphraseProvider(std::move(passphrase)));
  }
  if (providers.empty()) return NoKeyGiven();
  return providers;
}

// "keyfile slots 0, 2"
std::string DescribeTried(const std::string& type, const std::vector<int>& ids) {
  std::string out = type + (ids.size() == 1 ? " slot " : " slots ");
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
  return out;
}

// "0 keyfile, 1 passphrase"
std::string DescribeSlots(const volume::VolumeHeader& header) {
  std::string out;
  for (const nlohmann::json& slot : header.keyslots) {
    out += (out.empty() ? "" : ", ") + std::to_string(slot.value("id", -1)) + " " +
           slot.value("type", "?");
  }
  return out.empty() ? "none" : out;
}

}  // namespace

void AddUnlockOptions(CLI::App* cmd, UnlockOptions* opts) {
  cmd->add_option("--keyfile", opts->keyfile, "A key file of 32 bytes (see keygen)")
      ->type_name("FILE");
  cmd->add_option("--passphrase-file", opts->passphrase_file,
                  "A file holding the passphrase (one trailing newline is ignored)")
      ->type_name("FILE");
}

Result<SecretBytes> UnlockMasterKey(const std::string& backing, const volume::VolumeHeader& header,
                                    const UnlockOptions& opts) {
  MV_ASSIGN_OR_RETURN(auto providers, ProvidersForUnlock(backing, header, opts));
  std::string tried;
  Status unexpected;  // the first failure that is not simply a wrong key
  for (const auto& provider : providers) {
    std::vector<int> ids;
    for (const nlohmann::json& slot : header.keyslots) {
      if (slot.value("type", "") != provider->Type()) continue;
      auto master_key = provider->Unlock(slot, header.volume_id);
      if (master_key.ok()) return std::move(master_key).value();
      ids.push_back(slot.value("id", -1));
      if (master_key.status().code() != Code::kPermissionDenied && unexpected.ok()) {
        unexpected = master_key.status();
      }
    }
    if (!ids.empty()) tried += (tried.empty() ? "" : "; ") + DescribeTried(provider->Type(), ids);
  }
  // A malformed slot says more than "wrong key" about why nothing opened.
  if (!unexpected.ok()) return unexpected.Annotate(backing);
  if (tried.empty()) {
    return Status::NotFound(
        backing + ": no keyslot takes the key given (keyslots: " + DescribeSlots(header) + ")");
  }
  return Status::PermissionDenied(backing + ": the key does not open any keyslot (tried " + tried +
                                  ")");
}

Result<std::unique_ptr<KeyProvider>> ProviderForEnrol(const UnlockOptions& opts) {
  if (!opts.keyfile.empty() && !opts.passphrase_file.empty()) {
    return Status::InvalidArgument("give one key, --keyfile or --passphrase-file, not both");
  }
  MV_ASSIGN_OR_RETURN(auto providers, ProvidersFromFiles(opts));
  if (!providers.empty()) return std::move(providers.front());
  if (!isatty(STDIN_FILENO)) return NoKeyGiven();
  MV_ASSIGN_OR_RETURN(SecretBytes first, Prompt("New passphrase: "));
  MV_ASSIGN_OR_RETURN(SecretBytes second, Prompt("Repeat the passphrase: "));
  if (!first.Equals(second)) return Status::InvalidArgument("the passphrases do not match");
  return keyprovider::NewPassphraseProvider(std::move(first));
}

}  // namespace modelvault::cli
