// `modelvault mount`: unlocks a store and serves it at a mountpoint, in the background by
// default (returning once the mount answers) or in the foreground.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "base/log.h"
#include "base/mount_table.h"
#include "cli/access_settings.h"
#include "cli/audit_trail.h"
#include "cli/commands.h"
#include "cli/daemon.h"
#include "cli/header_edit.h"
#include "cli/service_notify.h"
#include "cli/unlock.h"
#include "config/mount_config.h"
#include "crypto/hex.h"
#include "crypto/signing_key.h"
#include "fs/mount_namespace.h"
#include "fs/serve.h"
#include "volume/rollback_state.h"
#include "volume/store_lock.h"
#include "volume/volume.h"

namespace modelvault::cli {
namespace {

// Remembers what it was shown, up to a bound, so that a repeated event is reported once.
class SeenOnce {
 public:
  bool First(const std::string& key) {
    std::lock_guard lock(mu_);
    if (seen_.size() >= 4096) return false;
    return seen_.insert(key).second;
  }

 private:
  std::mutex mu_;
  std::set<std::string> seen_;
};

struct MountArgs {
  std::string backing, mountpoint, config;
  std::string mount_namespace;  // --mount-namespace: where the kernel mount is made
  std::string state_file;       // from the config; "" for the default
  config::UnlockSettings unlock;
  AccessSettings access;
  AuditSettings audit;
  std::vector<std::string> trust;
  bool require_signatures = false, allow_rollback = false;
  bool foreground = false, read_only = false;
  std::vector<std::string> options;
  int threads = 0;
  // From the config's "cache"; unset keeps the filesystem's defaults.
  std::optional<double> entry_timeout, attr_timeout;
  std::optional<int> readahead_kb;
  bool keep_page_cache = true;
  std::string metrics_file;
  int metrics_interval = 15;
};

Result<std::string> Resolve(const std::string& path, const char* what) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    return Status::FromErrno(errno, std::string(what) + " " + path);
  }
  return std::string(buf);
}

Status CheckMountpoint(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    // A daemon that died (a service restarted after a crash) leaves its mount behind, and
    // the kernel answers ENOTCONN there: ServeMount replaces such a mount.
    const int err = errno;
    auto entry = FindMount(path);
    if (err == ENOTCONN && entry && entry->fstype == "fuse.modelvault") return Status::Ok();
    return Status::FromErrno(err, "mountpoint " + path);
  }
  if (!S_ISDIR(st.st_mode))
    return Status::InvalidArgument("mountpoint " + path + " is not a directory");
  if (FindMount(path)) {
    return Status::Busy("mountpoint " + path + " is busy: something is already mounted there");
  }
  return Status::Ok();
}

// Settings from --config fill in whatever the command line left unset.
Status ApplyConfig(CLI::App* cmd, MountArgs* a) {
  if (a->config.empty()) return Status::Ok();
  MV_ASSIGN_OR_RETURN(auto c, config::LoadMountConfig(a->config));
  if (a->backing.empty()) a->backing = c.backing;
  if (a->mountpoint.empty()) a->mountpoint = c.mountpoint;
  // Unlock settings come whole from one place: the command line if it names any.
  const config::UnlockSettings& u = a->unlock;
  if (!u.AnyGiven()) a->unlock = c.unlock;
  if (a->access.empty()) a->access = {c.allow_uids, c.allow_gids, c.allow_executables};
  a->state_file = c.state_file;
  if (!a->audit.enabled()) a->audit = {c.audit_file, c.audit_syslog};
  if (a->trust.empty()) a->trust = c.trust;
  if (cmd->count("--require-signatures") == 0) a->require_signatures = c.require_signatures;
  if (cmd->count("--allow-rollback") == 0) a->allow_rollback = c.allow_rollback;
  if (cmd->count("--foreground") == 0) a->foreground = c.foreground;
  if (cmd->count("--read-only") == 0) a->read_only = c.read_only;
  if (cmd->count("--threads") == 0) a->threads = c.threads;
  if (cmd->count("--metrics-file") == 0) a->metrics_file = c.metrics_file;
  if (cmd->count("--metrics-interval") == 0) a->metrics_interval = c.metrics_interval;
  // -o adds to the file's options: an fstab line's options (ro aside, which mount.fuse3
  // turns into -o too) must not drop the ones the config asks for.
  a->options.insert(a->options.begin(), c.fuse_options.begin(), c.fuse_options.end());
  a->entry_timeout = c.entry_timeout;
  a->attr_timeout = c.attr_timeout;
  a->readahead_kb = c.readahead_kb;
  a->keep_page_cache = c.keep_page_cache;
  if (c.log_level == "debug") SetLogLevel(LogLevel::kDebug);
  if (c.log_level == "warning") SetLogLevel(LogLevel::kWarning);
  if (c.log_level == "error") SetLogLevel(LogLevel::kError);
  return Status::Ok();
}

std::vector<std::string> SplitOptions(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& group : in) {
    std::stringstream ss(group);
    std::string one;
    while (std::getline(ss, one, ',')) {
      if (!one.empty()) out.push_back(one);
    }
  }
  return out;
}

Status RunMount(CLI::App* cmd, MountArgs a) {
  MV_RETURN_IF_ERROR(ApplyConfig(cmd, &a));
  if (a.backing.empty() || a.mountpoint.empty()) {
    return Status::InvalidArgument("mount needs BACKING and MOUNTPOINT (or a --config with both)");
  }
  MV_ASSIGN_OR_RETURN(std::string backing, Resolve(a.backing, "store"));
  // The daemon changes to / once it runs in the background.
  if (!a.metrics_file.empty()) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(a.metrics_file, ec);
    if (ec) return Status::FromErrno(ec.value(), "metrics file " + a.metrics_file);
    a.metrics_file = absolute.lexically_normal().string();
  }
  MV_ASSIGN_OR_RETURN(std::string mountpoint, Resolve(a.mountpoint, "mountpoint"));
  MV_ASSIGN_OR_RETURN(fs::AccessPolicy access, ResolveAccess(a.access, getuid()));
  if (a.require_signatures && a.trust.empty()) {
    return Status::InvalidArgument("--require-signatures needs at least one --trust key");
  }
  std::vector<volume::TrustedKey> trusted;
  if (!a.trust.empty() && !a.allow_rollback) {
    std::string state = a.state_file.empty() ? volume::DefaultRollbackStatePath() : a.state_file;
    if (::access(state.c_str(), F_OK) != 0) {
      std::cerr << "modelvault: warning: no rollback state at " << state
                << " yet: this host takes the first manifest version it sees of each signed "
                   "directory as current\n";
    }
  }
  for (const std::string& pem : a.trust) {
    MV_ASSIGN_OR_RETURN(crypto::PublicSigningKey key, crypto::LoadPublicKeyPem(pem));
    trusted.push_back({key.algorithm, key.key, pem});
  }
  MV_RETURN_IF_ERROR(CheckMountpoint(mountpoint));
  if (!a.mount_namespace.empty()) MV_RETURN_IF_ERROR(fs::CheckMountNamespace(a.mount_namespace));
  // Only a daemon that stays in the foreground is the process a service manager watches.
  const bool notify = a.foreground && ServiceManagerListens();
  if (notify) NotifyStatus("Unlocking " + backing);
  MV_ASSIGN_OR_RETURN(auto header, volume::ReadVolumeHeader(backing));
  // Opened before unlocking, so that a failed attempt is on record too.
  MV_ASSIGN_OR_RETURN(auto log, OpenAuditLog(a.audit, header));
  std::unique_ptr<volume::Volume> vol;
  std::string opened_with;
  fs::MountOptions options;
  SecretBytes audit_seed;
  {
    MV_ASSIGN_OR_RETURN(Unlocked unlocked,
                        UnlockAudited(backing, header, a.unlock, log.get(), "mount"));
    MV_ASSIGN_OR_RETURN(auto keys, volume::VolumeKeys::Derive(unlocked.master_key));
    MV_ASSIGN_OR_RETURN(audit_seed, keys->AuditSeed());
    MV_RETURN_IF_ERROR(
        VerifyHeader(backing, header, *keys, unlocked.slot_id,
                     a.state_file.empty() ? volume::DefaultRollbackStatePath() : a.state_file));
    if (log && header.audit_key.empty()) {
      // A store made before audit logs: give its header the key that verifies this log.
      MV_RETURN_IF_ERROR(EditHeaderWithKeys(
          backing, unlocked, *keys,
          [](volume::VolumeHeader&, const Unlocked&) { return Status::Ok(); }, a.state_file));
    }
    MV_ASSIGN_OR_RETURN(vol, volume::Volume::Open(backing, unlocked.master_key));
    opened_with = "keyslot " + std::to_string(unlocked.slot_id) + ", " + unlocked.slot_type;
    options.unlock_slot = unlocked.slot_id;
    options.unlock_type = unlocked.slot_type;
  }
  UniqueFd lock;
  if (!a.read_only) {
    MV_ASSIGN_OR_RETURN(lock, volume::LockStoreForWriting(backing));
  }
  options.mountpoint = mountpoint;
  options.read_only = a.read_only;
  options.fuse_options = SplitOptions(a.options);
  options.max_threads = a.threads;
  options.mount_namespace = a.mount_namespace;
  options.mounter = getuid();
  options.access = access;
  options.signatures.trusted = trusted;
  options.signatures.require = a.require_signatures;
  options.signatures.allow_rollback = a.allow_rollback;
  options.signatures.state_file = a.state_file;
  options.signatures.volume_hex = crypto::HexEncode(header.volume_id.span());
  options.signatures.block_size = header.block_size;
  if (a.read_only) options.entry_timeout = options.attr_timeout = 10.0;
  // A shared mount still caches no names whatever is asked (AccessGate).
  if (a.entry_timeout) options.entry_timeout = *a.entry_timeout;
  if (a.attr_timeout) options.attr_timeout = *a.attr_timeout;
  if (a.readahead_kb) options.readahead_kb = *a.readahead_kb;
  options.keep_cache = a.keep_page_cache;
  options.version = MODELVAULT_VERSION;
  options.metrics_file = a.metrics_file;
  options.metrics_interval = a.metrics_interval;

  const nlohmann::json mount_fields = {{"mountpoint", mountpoint},
                                       {"read_only", a.read_only},
                                       {"opened_with", opened_with},
                                       {"access", DescribePolicy(access)}};
  auto serve = [&](const std::function<void()>& ready) -> Status {
    HardenDaemon();
    // The daemon opens its own log: a forked child must not share its parent's (flock is
    // per open file).
    std::unique_ptr<audit::AuditLog> daemon_log;
    if (a.audit.enabled()) {
      MV_ASSIGN_OR_RETURN(daemon_log, OpenAuditLog(a.audit, header));
      MV_RETURN_IF_ERROR(daemon_log->SetSigningSeed(audit_seed));
      options.on_denied = [log = daemon_log.get()](const fs::DeniedRequest& d) {
        Status st = log->RecordDenied({{"uid", d.uid},
                                       {"gid", d.gid},
                                       {"pid", d.pid},
                                       {"executable", d.executable},
                                       {"operation", std::string(d.operation)}});
        if (!st.ok()) LogWarning("audit: " + st.message());
      };
    }
    options.on_signature_failure = [log = daemon_log.get(), seen = std::make_shared<SeenOnce>()](
                                       std::string_view what, const std::string& dir,
                                       const std::string& detail) {
      // A reader looping over a bad block would repeat the same report; once is enough.
      if (!seen->First(std::string(what) + dir + detail)) return;
      LogWarning("signed directory " + (dir.empty() ? std::string("/") : dir) + ": " + detail);
      if (log == nullptr) return;
      Status st =
          log->Record("signature_failed",
                      {{"check", std::string(what)}, {"directory", dir}, {"detail", detail}});
      if (!st.ok()) LogWarning("audit: " + st.message());
    };
    fs::ServeHooks hooks;
    // Ready once a request through the mountpoint has been answered, not merely mounted.
    hooks.answering = [&] {
      Status st = AuditRecord(daemon_log.get(), "mount", mount_fields);
      if (!st.ok()) LogWarning(st.message());
      if (notify)
        NotifyReady("Serving " + backing + " at " + mountpoint + " (" + opened_with + ")");
      ready();
    };
    if (notify) hooks.stopping = [] { NotifyStopping(); };
    Status served = fs::ServeMount(std::move(vol), options, hooks);
    // Refusals held back by the rate limit are summed up before the last record.
    if (daemon_log) (void)daemon_log->Flush();
    Status st = AuditRecord(
        daemon_log.get(), "unmount",
        {{"mountpoint", mountpoint}, {"outcome", served.ok() ? "clean" : served.message()}});
    if (!st.ok()) LogWarning(st.message());
    return served;
  };
  if (a.foreground) return serve([] {});
  MV_RETURN_IF_ERROR(RunInBackground(serve));
  std::cout << "Mounted " << backing << " at " << mountpoint << " (" << opened_with
            << (a.read_only ? ", read-only" : "") << ")\n";
  return Status::Ok();
}

}  // namespace

void AddMountCommand(CLI::App& app) {
  auto args = std::make_shared<MountArgs>();
  CLI::App* cmd = app.add_subcommand("mount", "Unlock a store and mount it");
  cmd->footer(
      "Examples:\n"
      "  modelvault mount /srv/models.enc /models --keyfile /etc/modelvault/models.key\n"
      "  modelvault mount /srv/models.enc /models --keyfile KEY --read-only --allow-uid inference\n"
      "  modelvault mount /srv/models.enc /models --tpm2 --tpm2-pin-file /etc/modelvault/pin\n"
      "  modelvault mount /srv/models.enc /models --pkcs11 'pkcs11:token=ops' --pin-file PIN\n"
      "  modelvault mount --config /etc/modelvault/models.yaml\n"
      "  modelvault mount --config /etc/modelvault/models.yaml --foreground "
      "--mount-namespace /proc/1/ns/mnt\n"
      "With no unlock option (and none in --config), TPM slots that need no PIN are tried,\n"
      "then, on a terminal, a passphrase is asked for.");
  cmd->add_option("BACKING", args->backing, "The store's backing directory");
  cmd->add_option("MOUNTPOINT", args->mountpoint, "Where to show the plaintext");
  AddUnlockOptions(cmd, &args->unlock);
  AddAccessOptions(cmd, &args->access);
  AddAuditOptions(cmd, &args->audit);
  cmd->add_option("--trust", args->trust,
                  "Verify signed directories with this publisher public key (PEM; repeatable)")
      ->type_name("PEM")
      ->group("Signed directories");
  cmd->add_flag("--require-signatures", args->require_signatures,
                "Refuse to open files outside a validly signed directory")
      ->group("Signed directories");
  cmd->add_flag("--allow-rollback", args->allow_rollback,
                "Accept a manifest older than one this host has seen")
      ->group("Signed directories");
  cmd->add_option("--config", args->config, "YAML file with mount settings; flags override it");
  cmd->add_flag("-f,--foreground,!--background", args->foreground,
                "Stay in the foreground (--background: detach, whatever --config says)");
  cmd->add_flag("--read-only,!--read-write", args->read_only,
                "Mount read-only (no lock; may run beside a writer); --read-write overrides "
                "--config");
  cmd->add_option("--mount-namespace", args->mount_namespace,
                  "Make the kernel mount in this mount namespace (e.g. /proc/1/ns/mnt, for a "
                  "sandboxed service)")
      ->type_name("FILE");
  cmd->add_option("-o", args->options, "FUSE mount options, comma-separated (repeatable)");
  cmd->add_option("--threads", args->threads, "Most request threads (default: libfuse's)");
  cmd->add_option("--metrics-file", args->metrics_file,
                  "Rewrite this Prometheus text-file collector file with the mount's metrics")
      ->type_name("FILE")
      ->group("Monitoring");
  cmd->add_option("--metrics-interval", args->metrics_interval,
                  "Seconds between rewrites of the metrics file (default 15)")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 86400))
      ->group("Monitoring");
  SetAction(cmd, [cmd, args] { return RunMount(cmd, *args); });
}

}  // namespace modelvault::cli
