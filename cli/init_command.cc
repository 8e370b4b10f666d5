// `modelvault init BACKING`: makes a new store with a fresh master key, its first keyslot
// and, if asked or on a terminal, a recovery slot. Changes nothing on disk unless it
// succeeds.
#include <unistd.h>

#include <iostream>

#include "cli/audit_trail.h"
#include "cli/commands.h"
#include "cli/enrol.h"
#include "crypto/random.h"
#include "volume/volume_header.h"
#include "volume/volume_keys.h"

namespace modelvault::cli {
namespace {

struct InitOptions {
  std::string backing;
  EnrolSettings slot;
  bool no_recovery_key = false;
  AuditSettings audit;
  uint64_t block_size = volume::kDefaultBlockSize;
};

Status RunInit(const InitOptions& opts) {
  if (!volume::IsValidBlockSize(opts.block_size)) {
    return Status::InvalidArgument(
        "--block-size " + std::to_string(opts.block_size) + " is not a power of two from " +
        std::to_string(volume::kMinBlockSize) + " to " + std::to_string(volume::kMaxBlockSize));
  }
  if (opts.no_recovery_key && !opts.slot.recovery_key_out.empty()) {
    return Status::InvalidArgument("--no-recovery-key and --recovery-key-out contradict");
  }
  MV_ASSIGN_OR_RETURN(auto provider, ProviderForEnrol(opts.slot, EnrolFlags::kInit));
  MV_ASSIGN_OR_RETURN(SecretBytes master_key, crypto::RandomSecret(volume::kMasterKeySize));
  volume::VolumeHeader header;
  MV_ASSIGN_OR_RETURN(header.volume_id, volume::NewVolumeId());
  header.block_size = static_cast<uint32_t>(opts.block_size);
  MV_ASSIGN_OR_RETURN(nlohmann::json slot, provider->Enrol(master_key, header.volume_id, 0));
  // The store and its first keyslot are made at the same moment.
  header.created = slot.value("created", "");
  header.keyslots.push_back(std::move(slot));

  // A recovery slot when asked for with a file, or by default when someone is watching.
  bool recovery =
      !opts.slot.recovery_key_out.empty() || (!opts.no_recovery_key && isatty(STDOUT_FILENO) == 1);
  std::optional<PendingRecoveryKey> pending;
  if (recovery) {
    MV_ASSIGN_OR_RETURN(pending, NewRecoveryKeyFor(opts.slot.recovery_key_out));
    auto recovery_provider =
        keyprovider::NewRecoveryKeyProvider(SecretBytes::CopyOf(pending->key.span()));
    auto recovery_slot = recovery_provider->Enrol(master_key, header.volume_id, 1);
    if (!recovery_slot.ok()) {
      pending->Discard();
      return recovery_slot.status();
    }
    header.keyslots.push_back(std::move(recovery_slot).value());
  }
  MV_ASSIGN_OR_RETURN(auto keys, volume::VolumeKeys::Derive(master_key));
  MV_ASSIGN_OR_RETURN(header.audit_key, AuditPublicKey(*keys));
  MV_ASSIGN_OR_RETURN(auto log, OpenAuditLog(opts.audit, header));
  nlohmann::json slot_types = nlohmann::json::array();
  for (const auto& s : header.keyslots) {
    slot_types.push_back({{"slot", s.value("id", -1)}, {"slot_type", s.value("type", "")}});
  }
  Status made = volume::InitializeStore(opts.backing, std::move(header), *keys);
  if (!made.ok()) {
    if (pending) pending->Discard();
    return made;
  }
  std::cout << "Created store " << opts.backing << " (block size " << opts.block_size
            << ", keyslot 0: " << provider->Type() << (pending ? ", keyslot 1: recovery" : "")
            << ")\n";
  if (pending) {
    MV_RETURN_IF_ERROR(pending->Keep());
    ShowRecoveryKey(*pending);
  }
  if (log) {
    MV_ASSIGN_OR_RETURN(SecretBytes seed, keys->AuditSeed());
    MV_RETURN_IF_ERROR(log->SetSigningSeed(seed));
    MV_RETURN_IF_ERROR(AuditRecord(
        log.get(), "store_created",
        {{"backing", opts.backing}, {"block_size", opts.block_size}, {"keyslots", slot_types}}));
  }
  return Status::Ok();
}

}  // namespace

void AddInitCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "init", "Create a new store in BACKING (a new or empty directory) with one keyslot");
  cmd->footer(
      "Examples:\n"
      "  modelvault keygen models.key && modelvault init /srv/models.enc --keyfile models.key\n"
      "  modelvault init /srv/models.enc --tpm2 --tpm2-pcrs 7 --recovery-key-out /root/rk\n"
      "  modelvault init /srv/models.enc --pkcs11 'pkcs11:token=ops;object=kek' --pin-file PIN\n"
      "On a terminal, a recovery key is made and shown once unless --no-recovery-key.");
  auto opts = std::make_shared<InitOptions>();
  cmd->add_option("BACKING", opts->backing, "The directory that will hold the encrypted store")
      ->required();
  AddEnrolOptions(cmd, &opts->slot, EnrolFlags::kInit);
  AddAuditOptions(cmd, &opts->audit);
  cmd->add_flag("--no-recovery-key", opts->no_recovery_key,
                "Make no recovery slot, even on a terminal");
  cmd->add_option("--block-size", opts->block_size,
                  "Plaintext bytes per encrypted block: a power of two from 4096 to 1048576")
      ->type_name("BYTES")
      ->capture_default_str();
  SetAction(cmd, [opts] { return RunInit(*opts); });
}

}  // namespace modelvault::cli
