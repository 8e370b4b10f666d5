// `modelvault keygen FILE`: a new random 32-byte key file for keyfile keyslots.
#include <cerrno>
#include <iostream>

#include "base/file_util.h"
#include "cli/commands.h"
#include "crypto/random.h"

namespace modelvault::cli {
namespace {

constexpr size_t kKeySize = 32;

Status RunKeygen(const std::string& path) {
  MV_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(kKeySize));
  Status st = WriteNewFile(path, key.span(), 0600);
  // Overwriting a key file could lock a store away for good, so an existing file is kept.
  if (st.code() == Code::kIOError && st.ToErrno() == EEXIST) {
    return Status::AlreadyExists(path + " already exists");
  }
  MV_RETURN_IF_ERROR(st);
  std::cout << "Wrote a new " << kKeySize << "-byte key to " << path << "\n";
  return Status::Ok();
}

}  // namespace

void AddKeygenCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("keygen", "Write a new random key file (mode 0600)");
  cmd->footer(
      "Examples:\n"
      "  modelvault keygen /etc/modelvault/models.key\n"
      "  modelvault init /srv/models.enc --keyfile /etc/modelvault/models.key");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "The key file to create; it must not exist")->required();
  SetAction(cmd, [path] { return RunKeygen(*path); });
}

}  // namespace modelvault::cli
