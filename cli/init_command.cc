// `modelvault init BACKING`: makes a new store with a fresh master key and its first
// keyslot. Changes nothing on disk unless it succeeds.
#include <iostream>

#include "cli/commands.h"
#include "cli/unlock.h"
#include "crypto/random.h"
#include "volume/volume_header.h"
#include "volume/volume_keys.h"

namespace modelvault::cli {
namespace {

struct InitOptions {
  std::string backing;
  UnlockOptions key;
  uint64_t block_size = volume::kDefaultBlockSize;
};

Status RunInit(const InitOptions& opts) {
  if (!volume::IsValidBlockSize(opts.block_size)) {
    return Status::InvalidArgument(
        "--block-size " + std::to_string(opts.block_size) + " is not a power of two from " +
        std::to_string(volume::kMinBlockSize) + " to " + std::to_string(volume::kMaxBlockSize));
  }
  MV_ASSIGN_OR_RETURN(auto provider, ProviderForEnrol(opts.key));
  MV_ASSIGN_OR_RETURN(SecretBytes master_key, crypto::RandomSecret(volume::kMasterKeySize));
  volume::VolumeHeader header;
  MV_ASSIGN_OR_RETURN(header.volume_id, volume::NewVolumeId());
  header.block_size = static_cast<uint32_t>(opts.block_size);
  MV_ASSIGN_OR_RETURN(nlohmann::json slot, provider->Enrol(master_key, header.volume_id, 0));
  // The store and its first keyslot are made at the same moment.
  header.created = slot.value("created", "");
  header.keyslots.push_back(std::move(slot));
  MV_ASSIGN_OR_RETURN(auto keys, volume::VolumeKeys::Derive(master_key));
  MV_RETURN_IF_ERROR(volume::InitializeStore(opts.backing, std::move(header), *keys));
  std::cout << "Created store " << opts.backing << " (block size " << opts.block_size
            << ", keyslot 0: " << provider->Type() << ")\n";
  return Status::Ok();
}

}  // namespace

void AddInitCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "init", "Create a new store in BACKING (a new or empty directory) with one keyslot");
  auto opts = std::make_shared<InitOptions>();
  cmd->add_option("BACKING", opts->backing, "The directory that will hold the encrypted store")
      ->required();
  AddUnlockOptions(cmd, &opts->key);
  cmd->add_option("--block-size", opts->block_size,
                  "Plaintext bytes per encrypted block: a power of two from 4096 to 1048576")
      ->type_name("BYTES")
      ->capture_default_str();
  SetAction(cmd, [opts] { return RunInit(*opts); });
}

}  // namespace modelvault::cli
