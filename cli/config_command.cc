// `modelvault config check FILE`: every problem of a store's mount config, or a summary
// of what it sets.
#include <iostream>

#include "cli/commands.h"
#include "config/mount_config.h"

namespace modelvault::cli {
namespace {

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

// The unlock methods a mount tries: "order", else every method the section gives what it
// needs, else the ones tried when nothing is said.
std::string UnlockMethods(const config::UnlockSettings& u) {
  if (!u.order.empty()) return Join(u.order);
  if (!u.AnyGiven()) return "tpm2 without a PIN, then a passphrase typed at a terminal";
  std::vector<std::string> given;
  for (std::string_view method : config::kUnlockMethods) {
    if (u.Gives(method)) given.emplace_back(method);
  }
  return Join(given);
}

// "/srv/models.enc at /models, read-only; unlock tpm2, recovery; access 2 uids, ...".
std::string Summary(const config::MountConfig& c) {
  std::string out = c.backing + " at " + c.mountpoint + (c.read_only ? ", read-only" : "");
  out += "; unlock " + UnlockMethods(c.unlock);
  if (c.allow_uids.empty() && c.allow_gids.empty()) {
    out += "; access: the user who mounts";
  } else {
    out += "; access: " + std::to_string(c.allow_uids.size()) + " uid(s), " +
           std::to_string(c.allow_gids.size()) + " gid(s), " +
           std::to_string(c.allow_executables.size()) + " program(s)";
  }
  if (!c.trust.empty()) {
    out += std::string("; signatures ") + (c.require_signatures ? "required" : "checked") + " (" +
           std::to_string(c.trust.size()) + " key(s))";
  }
  if (!c.audit_file.empty()) out += "; audit " + c.audit_file;
  return out;
}

Status RunConfigCheck(const std::string& path) {
  config::CheckedConfig checked = config::CheckMountConfig(path);
  if (checked.problems.empty()) {
    std::cout << path << ": OK\n  " << Summary(checked.config) << "\n";
    return Status::Ok();
  }
  for (const std::string& problem : checked.problems) std::cout << problem << "\n";
  return Status::InvalidArgument(path + ": " + std::to_string(checked.problems.size()) +
                                 " problem(s)");
}

}  // namespace

void AddConfigCommand(CLI::App& app) {
  CLI::App* config = app.add_subcommand("config", "Check mount configuration files");
  config->require_subcommand(1);
  config->footer(
      "Examples:\n"
      "  modelvault config check /etc/modelvault/models.yaml");
  CLI::App* check = config->add_subcommand(
      "check", "Report every problem in a store's mount config (docs/CONFIG.md)");
  check->footer(
      "Reads FILE as the whole description of one store: \"backing\" and \"mountpoint\" are\n"
      "required. Prints each problem as \"FILE: line N: what\" (syntax, unknown keys, wrong\n"
      "types, relative paths, repeated entries, unknown users or groups, settings that\n"
      "contradict each other) and exits 1; prints \"FILE: OK\" and a summary and exits 0 if\n"
      "there is none. Reads no key and touches no store.\n"
      "Examples:\n"
      "  modelvault config check /etc/modelvault/models.yaml\n"
      "  modelvault config check ./staging.yaml && cp ./staging.yaml /etc/modelvault/models.yaml");
  auto path = std::make_shared<std::string>();
  check->add_option("FILE", *path, "The YAML config of one store")->required();
  SetAction(check, [path] { return RunConfigCheck(*path); });
}

}  // namespace modelvault::cli
