// `modelvault keyslot add|list|remove`: managing the ways a store can be unlocked. Adding
// and removing need the store's key (any slot that opens) and leave the header as it was
// if anything fails; listing needs nothing.
#include <iostream>

#include "cli/audit_trail.h"
#include "cli/commands.h"
#include "cli/enrol.h"
#include "cli/header_edit.h"
#include "cli/slot_summary.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

using nlohmann::json;

struct AddArgs {
  std::string backing;
  config::UnlockSettings unlock;
  EnrolSettings slot;
  AuditSettings audit;
};

// Makes the slot under the header-edit lock; its id is the smallest free one.
Status AddSlot(const AddArgs& a, keyprovider::KeyProvider& provider, int* slot_id) {
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader current, volume::ReadVolumeHeader(a.backing));
  MV_ASSIGN_OR_RETURN(auto log, OpenAuditLog(a.audit, current));
  int opened_with = -1;
  MV_RETURN_IF_ERROR(
      EditHeader(a.backing, a.unlock, log.get(), "keyslot add",
                 [&](volume::VolumeHeader& header, const Unlocked& opened) {
                   *slot_id = header.NextSlotId();
                   opened_with = opened.slot_id;
                   MV_ASSIGN_OR_RETURN(
                       json slot, provider.Enrol(opened.master_key, header.volume_id, *slot_id));
                   header.keyslots.push_back(std::move(slot));
                   return Status::Ok();
                 }));
  return AuditRecord(
      log.get(), "keyslot_added",
      {{"slot", *slot_id}, {"slot_type", provider.Type()}, {"by_slot", opened_with}});
}

Status RunAdd(const AddArgs& a) {
  MV_RETURN_IF_ERROR(CheckEnrolSettings(a.slot, EnrolFlags::kKeyslotAdd));
  int slot_id = -1;
  if (a.slot.recovery) {
    // The key is written out (or held for the terminal) before the slot exists, so a slot is
    // never made whose key nobody has.
    MV_ASSIGN_OR_RETURN(PendingRecoveryKey pending, NewRecoveryKeyFor(a.slot.recovery_key_out));
    auto provider = keyprovider::NewRecoveryKeyProvider(SecretBytes::CopyOf(pending.key.span()));
    Status added = AddSlot(a, *provider, &slot_id);
    if (!added.ok()) {
      pending.Discard();
      return added;
    }
    std::cout << "Added keyslot " << slot_id << " (recovery) to " << a.backing << "\n";
    MV_RETURN_IF_ERROR(pending.Keep());
    ShowRecoveryKey(pending);
    return Status::Ok();
  }
  MV_ASSIGN_OR_RETURN(auto provider, ProviderForEnrol(a.slot, EnrolFlags::kKeyslotAdd));
  MV_RETURN_IF_ERROR(AddSlot(a, *provider, &slot_id));
  std::cout << "Added keyslot " << slot_id << " (" << provider->Type() << ") to " << a.backing
            << "\n";
  return Status::Ok();
}

Status RunList(const std::string& backing, bool as_json) {
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(backing));
  // The header parser has checked that every slot has an integer id.
  std::stable_sort(
      header.keyslots.begin(), header.keyslots.end(),
      [](const json& x, const json& y) { return x["id"].get<int>() < y["id"].get<int>(); });
  if (as_json) {
    json slots = json::array();
    for (const json& slot : header.keyslots) slots.push_back(SlotSummary(slot));
    std::cout << slots.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return Status::Ok();
  }
  for (const json& slot : header.keyslots) {
    json s = SlotSummary(slot);
    std::cout << s.value("id", -1) << "  " << s.value("type", "?") << "  created "
              << s.value("created", "?") << "  " << SlotParameters(slot) << "\n";
  }
  return Status::Ok();
}

struct RemoveArgs {
  std::string backing;
  int slot_id = -1;
  config::UnlockSettings unlock;
  AuditSettings audit;
};

Status RunRemove(const RemoveArgs& a) {
  const std::string& backing = a.backing;
  const int slot_id = a.slot_id;
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader current, volume::ReadVolumeHeader(backing));
  MV_ASSIGN_OR_RETURN(auto log, OpenAuditLog(a.audit, current));
  std::string type;
  int opened_with = -1;
  MV_RETURN_IF_ERROR(EditHeader(
      backing, a.unlock, log.get(), "keyslot remove",
      [&](volume::VolumeHeader& header, const Unlocked& opened) {
        opened_with = opened.slot_id;
        auto& slots = header.keyslots;
        auto it = std::find_if(slots.begin(), slots.end(), [&](const json& slot) {
          return slot.value("id", json()).is_number_integer() && slot["id"].get<int>() == slot_id;
        });
        if (it == slots.end()) {
          return Status::NotFound(backing + " has no keyslot " + std::to_string(slot_id));
        }
        if (slots.size() == 1) {
          return Status::InvalidArgument("keyslot " + std::to_string(slot_id) +
                                         " is the last one of " + backing +
                                         "; add another before removing it");
        }
        type = it->value("type", "?");
        slots.erase(it);
        return Status::Ok();
      }));
  std::cout << "Removed keyslot " << slot_id << " (" << type << ") from " << backing << "\n";
  return AuditRecord(log.get(), "keyslot_removed",
                     {{"slot", slot_id}, {"slot_type", type}, {"by_slot", opened_with}});
}

void AddAdd(CLI::App* keyslot) {
  auto a = std::make_shared<AddArgs>();
  CLI::App* cmd = keyslot->add_subcommand("add", "Add a keyslot (needs the store's key)");
  cmd->footer(
      "Examples:\n"
      "  modelvault keyslot add /srv/models.enc --keyfile KEY --tpm2 --tpm2-pcrs 7\n"
      "  modelvault keyslot add /srv/models.enc --unlock-tpm2 --pkcs11 "
      "'pkcs11:token=ops;object=kek'"
      " --pin-file PIN\n"
      "  modelvault keyslot add /srv/models.enc --keyfile KEY --recovery --recovery-key-out R\n"
      "With no unlock option, TPM slots that need no PIN are tried.");
  cmd->add_option("BACKING", a->backing, "The store's backing directory")->required();
  AddUnlockOptions(cmd, &a->unlock, UnlockFlags::kPrefixed);
  AddEnrolOptions(cmd, &a->slot, EnrolFlags::kKeyslotAdd);
  AddAuditOptions(cmd, &a->audit);
  SetAction(cmd, [a] {
    // One --pkcs11-module serves both the unlocking and the new slot.
    if (a->unlock.pkcs11_module.empty()) a->unlock.pkcs11_module = a->slot.pkcs11_module;
    return RunAdd(*a);
  });
}

void AddList(CLI::App* keyslot) {
  auto backing = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = keyslot->add_subcommand("list", "List the keyslots (no key needed)");
  cmd->footer(
      "Shows id, type, creation time and the parameters that are not secret (PCRs, TCTI,\n"
      "token URI, ...). Needs no key; the header is not authenticated without one.\n"
      "Examples:\n"
      "  modelvault keyslot list /srv/models.enc\n"
      "  modelvault keyslot list /srv/models.enc --json");
  cmd->add_option("BACKING", *backing, "The store's backing directory")->required();
  cmd->add_flag("--json", *as_json, "Print JSON instead of text");
  SetAction(cmd, [backing, as_json] { return RunList(*backing, *as_json); });
}

void AddRemove(CLI::App* keyslot) {
  auto a = std::make_shared<RemoveArgs>();
  CLI::App* cmd =
      keyslot->add_subcommand("remove", "Remove a keyslot (needs the store's key; never the last)");
  cmd->footer(
      "Any keyslot that opens the store may be used to unlock, including the one removed.\n"
      "Examples:\n"
      "  modelvault keyslot list /srv/models.enc   # find the ID\n"
      "  modelvault keyslot remove /srv/models.enc 2 --keyfile KEY\n"
      "  modelvault keyslot remove /srv/models.enc 1 --tpm2");
  cmd->add_option("BACKING", a->backing, "The store's backing directory")->required();
  cmd->add_option("ID", a->slot_id, "The keyslot to remove (see keyslot list)")->required();
  AddUnlockOptions(cmd, &a->unlock);
  AddAuditOptions(cmd, &a->audit);
  SetAction(cmd, [a] { return RunRemove(*a); });
}

}  // namespace

void AddKeyslotCommand(CLI::App& app) {
  CLI::App* keyslot = app.add_subcommand("keyslot", "Add, list and remove keyslots");
  keyslot->require_subcommand(1);
  keyslot->footer(
      "Examples:\n"
      "  modelvault keyslot list /srv/models.enc\n"
      "  modelvault keyslot add /srv/models.enc --keyfile KEY --tpm2 --tpm2-pcrs 7\n"
      "  modelvault keyslot remove /srv/models.enc 2 --tpm2\n"
      "Run `modelvault keyslot COMMAND --help` for each command's options.");
  AddAdd(keyslot);
  AddList(keyslot);
  AddRemove(keyslot);
}

}  // namespace modelvault::cli
