// `modelvault info BACKING`: the store's header, readable without a key. Shows each
// keyslot's id, type, creation time and parameters (slot_summary.h), never its salt, nonce
// or wrapped key.
#include <iostream>

#include "cli/commands.h"
#include "cli/slot_summary.h"
#include "crypto/hex.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

using nlohmann::json;

json InfoJson(const std::string& backing, const volume::VolumeHeader& header) {
  json slots = json::array();
  for (const json& slot : header.keyslots) slots.push_back(SlotSummary(slot));
  json info = header.ToJson();
  info["store"] = backing;
  info["keyslots"] = slots;  // summaries only: never salts, nonces or wrapped keys
  return info;
}

// A field as text, "-" if the slot lacks it.
std::string Text(const json& slot, const char* field) {
  auto it = slot.find(field);
  if (it == slot.end()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void PrintInfo(const std::string& backing, const volume::VolumeHeader& header) {
  std::cout << "Store:        " << backing << "\n"
            << "Format:       modelvault version " << header.version << "\n"
            << "Volume ID:    " << crypto::HexEncode(header.volume_id.span()) << "\n"
            << "Cipher:       " << header.cipher << "\n"
            << "Name cipher:  " << header.name_cipher << "\n"
            << "Block size:   " << header.block_size << "\n"
            << "Created:      " << header.created << "\n"
            << "Keyslots:     " << header.keyslots.size() << "\n";
  for (const json& slot : header.keyslots) {
    std::cout << "  slot " << Text(slot, "id") << ": " << Text(slot, "type") << ", created "
              << Text(slot, "created") << ", " << SlotParameters(slot) << "\n";
  }
}

Status RunInfo(const std::string& backing, bool as_json) {
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(backing));
  if (as_json) {
    std::cout << InfoJson(backing, header).dump(2, ' ', false, json::error_handler_t::replace)
              << "\n";
  } else {
    PrintInfo(backing, header);
  }
  return Status::Ok();
}

}  // namespace

void AddInfoCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "info", "Show a store's parameters and keyslots (no key needed; not authenticated)");
  cmd->footer(
      "Examples:\n"
      "  modelvault info /srv/models.enc\n"
      "  modelvault info /srv/models.enc --json | jq .keyslots");
  auto backing = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("BACKING", *backing, "The store's backing directory")->required();
  cmd->add_flag("--json", *as_json, "Print a JSON document instead of text");
  SetAction(cmd, [backing, as_json] { return RunInfo(*backing, *as_json); });
}

}  // namespace modelvault::cli
