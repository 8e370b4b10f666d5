// `modelvault status [MOUNTPOINT]`: what each mount daemon reports about itself (its
// control attribute user.modelvault.status, fs/mount_status.h): backing directory, mode,
// the keyslot that opened it, who may enter, signatures, and its counters. Without a
// mountpoint, every modelvault mount on the host. Exits 1 if any mount gave no status.
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <utility>
#include <vector>

#include "base/mount_table.h"
#include "cli/commands.h"
#include "cli/status_query.h"

namespace modelvault::cli {
namespace {

using nlohmann::json;
constexpr const char* kFsType = "fuse.modelvault";

struct StatusArgs {
  std::string mountpoint;
  bool json = false;
  int timeout = 5;
};

// "1.5 GiB (1610612736 bytes)"; small amounts as "512 bytes".
std::string Bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (n < 1024) return std::to_string(n) + (n == 1 ? " byte" : " bytes");
  double v = static_cast<double>(n);
  size_t unit = 0;
  for (v /= 1024; v >= 1024 && unit + 1 < std::size(kUnits); ++unit) v /= 1024;
  std::ostringstream out;
  out.precision(v < 10 ? 2 : (v < 100 ? 1 : 0));
  out << std::fixed << v << ' ' << kUnits[unit] << " (" << n << " bytes)";
  return out.str();
}

std::string Duration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60;
  if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
  if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
  if (m > 0) return std::to_string(m) + "m " + std::to_string(seconds % 60) + "s";
  return std::to_string(seconds) + "s";
}

std::string List(const json& items, const char* none) {
  std::string out;
  for (const json& item : items) {
    out += (out.empty() ? "" : ", ") + (item.is_string() ? item.get<std::string>() : item.dump());
  }
  return out.empty() ? none : out;
}

// Lines of "key: value", the values aligned.
class Table {
 public:
  void Add(std::string key, std::string value) { rows_.emplace_back(std::move(key), value); }
  void Print(std::ostream& out) const {
    size_t width = 0;
    for (const auto& [key, value] : rows_) width = std::max(width, key.size());
    for (const auto& [key, value] : rows_) {
      out << "  " << key << ':' << std::string(width - key.size() + 2, ' ') << value << '\n';
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

void PrintStatus(const json& s, std::ostream& out) {
  const json& c = s.at("counters");
  const json& sig = s.at("signatures");
  Table t;
  t.Add("backing", s.at("backing").get<std::string>());
  int64_t started = s.at("start_time").get<int64_t>();
  t.Add("daemon", "pid " + s.at("pid").dump() + ", up " + Duration(std::time(nullptr) - started) +
                      " (since " + s.at("started_at").get<std::string>() + ")");
  t.Add("version", "modelvault " + s.at("version").get<std::string>() + ", format " +
                       s.at("format_version").dump());
  t.Add("mode", s.at("read_only").get<bool>() ? "read-only" : "read-write");
  t.Add("unlocked with", "keyslot " + s.at("unlock").at("keyslot").dump() + " (" +
                             s.at("unlock").at("type").get<std::string>() + ")");
  t.Add("allowed uids", List(s.at("access").at("uids"), "none"));
  t.Add("allowed gids", List(s.at("access").at("gids"), "none"));
  t.Add("allowed programs", List(s.at("access").at("executables"), "any"));
  t.Add("trusted keys", List(sig.at("trusted_keys"), "none (signatures are not checked)"));
  t.Add("signatures required", sig.at("required").get<bool>() ? "yes" : "no");
  t.Add("read", Bytes(c.at("read_bytes").get<uint64_t>()) + " in " + c.at("read_requests").dump() +
                    " requests");
  t.Add("written", Bytes(c.at("written_bytes").get<uint64_t>()) + " in " +
                       c.at("write_requests").dump() + " requests");
  t.Add("blocks failing authentication", c.at("auth_failures").dump());
  uint64_t failed = 0;
  std::string which;
  for (const auto& [check, n] : c.at("signature_failures").items()) {
    failed += n.get<uint64_t>();
    if (n.get<uint64_t>() > 0) which += (which.empty() ? " (" : ", ") + check + " " + n.dump();
  }
  t.Add("signature failures", std::to_string(failed) + (which.empty() ? "" : which + ")"));
  t.Add("denied requests", c.at("denied_requests").dump());
  t.Add("signed directories loaded", s.at("signed_directory_count").dump());
  for (const json& d : s.at("signed_directories")) {
    std::string path = d.at("path").get<std::string>();
    t.Add("  " + (path.empty() ? std::string("(store root)") : path),
          "version " + d.at("version").dump() + ", key " + d.at("key_id").get<std::string>() +
              (d.at("valid").get<bool>()
                   ? ""
                   : ", failed its " + d.at("failed_check").get<std::string>() + " check"));
  }
  const json& m = s.at("metrics");
  t.Add("metrics file",
        m.at("file").get<std::string>().empty()
            ? std::string("none")
            : m.at("file").get<std::string>() + " (every " + m.at("interval").dump() + " s)");
  out << s.at("mountpoint").get<std::string>() << '\n';
  t.Print(out);
}

// The mountpoint `given` names. Resolved by name first: resolving a path walks into it, and
// a mount whose daemon hangs would hang that walk too.
Result<MountEntry> FindModelvaultMount(const std::string& given) {
  std::error_code ec;
  std::string path = std::filesystem::absolute(given, ec).lexically_normal().string();
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  auto entry = FindMount(path);
  if (!entry) {
    char buf[PATH_MAX];
    if (realpath(given.c_str(), buf) == nullptr) return Status::FromErrno(errno, given);
    path = buf;
    entry = FindMount(path);
  }
  if (!entry || entry->fstype != kFsType) {
    return Status::InvalidArgument(path + " is not a modelvault mount");
  }
  return *entry;
}

Status RunStatus(const StatusArgs& a) {
  std::vector<MountEntry> mounts;
  if (!a.mountpoint.empty()) {
    MV_ASSIGN_OR_RETURN(MountEntry entry, FindModelvaultMount(a.mountpoint));
    mounts.push_back(entry);
  } else {
    for (const MountEntry& e : ReadMountTable()) {
      if (e.fstype == kFsType) mounts.push_back(e);
    }
  }
  json all = json::array();
  std::vector<std::string> silent;
  std::string first_error;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const MountEntry& e = mounts[i];
    auto status = QueryMountStatus(e.mount_point, std::chrono::seconds(a.timeout));
    if (!status.ok()) {
      silent.push_back(e.mount_point);
      if (first_error.empty()) first_error = status.status().message();
      all.push_back({{"mountpoint", e.mount_point},
                     {"backing", e.source},
                     {"error", status.status().message()}});
      if (!a.json) {
        std::cout << (i > 0 ? "\n" : "") << e.mount_point << "\n  backing:  " << e.source
                  << "\n  error:    " << status.status().message() << '\n';
      }
      continue;
    }
    if (!a.json) {
      if (i > 0) std::cout << '\n';
      PrintStatus(*status, std::cout);
    }
    all.push_back(*status);
  }
  if (a.json) {
    std::cout << (a.mountpoint.empty() ? all : all.at(0)).dump(2) << '\n';
  } else if (mounts.empty()) {
    std::cout << "No modelvault mounts.\n";
  }
  if (silent.size() == 1) return Status::IOError(first_error);
  if (silent.size() > 1) {
    return Status::IOError(std::to_string(silent.size()) +
                           " mounts gave no status: " + List(silent, ""));
  }
  return Status::Ok();
}

}  // namespace

void AddStatusCommand(CLI::App& app) {
  auto args = std::make_shared<StatusArgs>();
  CLI::App* cmd = app.add_subcommand("status", "Show what mount daemons report about themselves");
  cmd->footer(
      "Examples:\n"
      "  modelvault status\n"
      "  modelvault status /models\n"
      "  modelvault status /models --json | jq .counters\n"
      "Readable by the user who mounted the store and by the users it admits. Exits 1 if a\n"
      "mount's daemon does not answer (docs/MONITORING.md).");
  cmd->add_option("MOUNTPOINT", args->mountpoint, "A modelvault mount (default: all of them)");
  cmd->add_flag("--json", args->json,
                "Print JSON (an object for MOUNTPOINT, else an array of every mount)");
  cmd->add_option("--timeout", args->timeout, "Seconds to wait for each daemon (default 5)")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600));
  SetAction(cmd, [args] { return RunStatus(*args); });
}

}  // namespace modelvault::cli
