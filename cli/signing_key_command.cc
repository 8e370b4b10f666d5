// `modelvault signing-key generate PRIVATE.pem PUBLIC.pem`: a new Ed25519 publisher key pair
// for signed directories (docs/FORMAT.md, "Signed directories").
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "crypto/signing_key.h"

namespace modelvault::cli {
namespace {

struct GenerateArgs {
  std::string private_path;
  std::string public_path;
};

Status RunGenerate(const GenerateArgs& a) {
  MV_ASSIGN_OR_RETURN(crypto::PublicSigningKey key,
                      crypto::GenerateSigningKeyFiles(a.private_path, a.public_path));
  std::cout << "Wrote the private key to " << a.private_path
            << " (mode 0600; keep it with the publisher only)\n"
            << "Wrote the public key to " << a.public_path
            << " (give it to readers and backup checks: --trust)\n"
            << "Key ID: " << crypto::SigningKeyId(key.key) << "\n";
  return Status::Ok();
}

void AddGenerate(CLI::App* parent) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = parent->add_subcommand("generate", "Write a new Ed25519 publisher key pair");
  cmd->footer(
      "Writes PRIVATE (PKCS#8 PEM, unencrypted, mode 0600) and PUBLIC (SubjectPublicKeyInfo\n"
      "PEM). Neither may exist. The private key signs directories; readers and `modelvault\n"
      "verify` need only the public key.\n"
      "Examples:\n"
      "  modelvault signing-key generate /secure/publisher.pem /etc/modelvault/publisher.pub.pem\n"
      "  modelvault verify /srv/models.enc --trust /etc/modelvault/publisher.pub.pem");
  cmd->add_option("PRIVATE", a->private_path, "The private key file to create")->required();
  cmd->add_option("PUBLIC", a->public_path, "The public key file to create")->required();
  SetAction(cmd, [a] { return RunGenerate(*a); });
}

}  // namespace

void AddSigningKeyCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("signing-key", "Manage publisher keys for signed directories");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n"
      "  modelvault signing-key generate publisher.pem publisher.pub.pem\n"
      "  modelvault sign /models/llama-3-8b --signing-key publisher.pem");
  AddGenerate(cmd);
}

}  // namespace modelvault::cli
