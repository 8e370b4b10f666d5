// `modelvault verify BACKING --trust PUBLIC.pem ...`: checks every signed directory of a
// backing directory, or of a copy of one (a backup), with the publishers' public keys and
// no store key: signature, store, and every block of every file. Prints a summary per
// signed directory and each problem on stdout; any problem makes the command fail.
#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>
#include <vector>

#include "base/unique_fd.h"
#include "cli/commands.h"
#include "cli/terminal.h"
#include "crypto/hex.h"
#include "crypto/signing_key.h"
#include "volume/dir_id.h"
#include "volume/manifest.h"
#include "volume/rollback_state.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

namespace fs = std::filesystem;

struct VerifyArgs {
  std::string backing;
  std::vector<std::string> trust;
  std::string state_file;  // "" = the default
};

struct SignedDirs {
  std::vector<std::string> signed_dirs;  // holding a .mvmanifest
  std::vector<std::string> unfinished;   // frozen (.mvfrozen) without one
};

// The directories of the tree that hold a .mvmanifest or a .mvfrozen, the root included, in
// path order. Symlinks are not followed, and hash lists are not searched.
Result<SignedDirs> FindSignedDirs(const std::string& backing) {
  SignedDirs found;
  std::error_code ec;
  auto note = [&](const fs::path& dir) {
    if (fs::exists(dir / volume::kManifestFile, ec)) {
      found.signed_dirs.push_back(dir.string());
    } else if (fs::exists(dir / volume::kFrozenMarker, ec)) {
      found.unfinished.push_back(dir.string());
    }
  };
  note(backing);
  fs::recursive_directory_iterator it(backing, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (it->path().filename() == volume::kHashesDir) {
      it.disable_recursion_pending();
      continue;
    }
    note(it->path());
  }
  if (ec) return Status::FromErrno(ec.value(), "searching " + backing);
  std::sort(found.signed_dirs.begin(), found.signed_dirs.end());
  // One frozen inside a signed directory is covered by its signature (the marker is one
  // of its entries).
  std::erase_if(found.unfinished, [&](const std::string& dir) {
    return std::any_of(found.signed_dirs.begin(), found.signed_dirs.end(),
                       [&](const std::string& s) { return dir.starts_with(s + "/"); });
  });
  std::sort(found.unfinished.begin(), found.unfinished.end());
  return found;
}

Result<std::vector<volume::TrustedKey>> LoadTrust(const std::vector<std::string>& files) {
  std::vector<volume::TrustedKey> keys;
  for (const std::string& file : files) {
    MV_ASSIGN_OR_RETURN(crypto::PublicSigningKey key, crypto::LoadPublicKeyPem(file));
    keys.push_back({key.algorithm, std::move(key.key), file});
  }
  return keys;
}

struct DirReport {
  std::string dir;
  std::vector<volume::VerifyProblem> problems;
};

// Everything wrong with one signed directory; an error only if it could not be read.
Result<DirReport> VerifyDir(const std::string& dir, const std::string& store_root,
                            const std::string& label, const volume::VolumeHeader& header,
                            const std::vector<volume::TrustedKey>& trusted,
                            const std::string& state_file) {
  DirReport report{dir, {}};
  auto problem = [&](std::string what) { report.problems.push_back({"", std::move(what)}); };
  Result<volume::Manifest> m = volume::ReadManifest(dir);
  if (!m.ok()) {
    std::cout << dir << ": no readable manifest\n";
    // The parser names the file already.
    const std::string own = dir + "/" + volume::kManifestFile;
    std::string what = m.status().message();
    if (what.starts_with(own + ": ")) what = what.substr(own.size() + 2);
    report.problems.push_back({own, std::move(what)});
    return report;
  }
  Status sig = volume::VerifyManifestSignature(*m, trusted);
  if (!sig.ok()) problem(volume::kManifestFile + std::string(": ") + sig.message());
  if (m->volume_id != header.volume_id) {
    problem("the manifest belongs to another store (volume ID " +
            crypto::HexEncode(m->volume_id.span()) + ")");
  }
  // The store's root is signed as "", any other directory under its own backing name.
  std::error_code ec;
  std::string name = std::filesystem::equivalent(dir, store_root, ec)
                         ? std::string()
                         : std::filesystem::path(dir).filename().string();
  if (m->directory != name) {
    problem("the manifest was signed for another directory (" +
            (m->directory.empty() ? std::string("the store's root") : m->directory) + ")");
  }
  if (m->block_size != header.block_size) {
    problem("the manifest's block size " + std::to_string(m->block_size) +
            " differs from the store's " + std::to_string(header.block_size));
  }
  // A backup checked on a host that has seen a newer version of this directory: an old,
  // validly signed copy must not pass as current.
  UniqueFd dirfd(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto dir_id = dirfd.valid() ? volume::ReadDirId(dirfd.get(), dir)
                              : Result<volume::DirId>(Status::NotFound(dir));
  if (dir_id.ok()) {
    auto seen = volume::SeenVersion(state_file, volume::ManifestStateKey(m->volume_id, *dir_id));
    if (seen.ok() && *seen > m->version) {
      problem("the manifest is version " + std::to_string(m->version) + ", older than version " +
              std::to_string(*seen) + " this host has seen (rolled back?)");
    }
  }
  uint64_t files = 0, bytes = 0;
  for (const volume::ManifestEntry& e : m->entries) {
    if (e.kind != volume::ManifestEntry::Kind::kFile) continue;
    ++files;
    bytes += e.size;
  }
  // What an unverified manifest says about itself is only its claim.
  std::cout << dir << ": version " << m->version
            << (sig.ok() ? ", signed " : ", claims to be signed ") << m->signed_at << " by "
            << m->KeyId() << ", " << files << " files, " << bytes << " bytes\n";
  std::vector<volume::VerifyProblem> tree;
  {
    ProgressLine progress(label);
    MV_ASSIGN_OR_RETURN(tree, volume::VerifySignedTree(dir, *m, [&](uint64_t done, uint64_t total) {
                          progress.Update(done, total);
                        }));
  }
  for (volume::VerifyProblem& p : tree) {
    p.path = dir + "/" + p.path;
    report.problems.push_back(std::move(p));
  }
  return report;
}

void PrintReport(const DirReport& r) {
  for (const volume::VerifyProblem& p : r.problems) {
    std::cout << "  " << (p.path.empty() ? r.dir : p.path) << ": " << p.what << "\n";
  }
  std::cout << (r.problems.empty() ? "  intact\n"
                                   : "  " + std::to_string(r.problems.size()) + " problem(s)\n");
}

Status RunVerify(const VerifyArgs& a) {
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(a.backing));
  MV_ASSIGN_OR_RETURN(std::vector<volume::TrustedKey> trusted, LoadTrust(a.trust));
  const std::string state =
      a.state_file.empty() ? volume::DefaultRollbackStatePath() : a.state_file;
  MV_ASSIGN_OR_RETURN(SignedDirs found, FindSignedDirs(a.backing));
  const std::vector<std::string>& dirs = found.signed_dirs;
  // A directory frozen without a manifest is immutable through the mount but covered by
  // no signature: a `sign` that did not finish, or a manifest removed since.
  for (const std::string& dir : found.unfinished) {
    std::cout << dir << ": frozen but not signed: a `modelvault sign` did not finish (sign "
              << "it again), or its manifest was removed\n";
  }
  // Removing a manifest turns a signed directory into an unsigned one, which only a reader
  // configured to require signatures notices; an empty result is at least not "intact".
  if (dirs.empty() && found.unfinished.empty()) {
    return Status::NotFound("no signed directory in " + a.backing);
  }
  size_t bad_dirs = 0, problems = 0;
  std::string first;
  for (size_t i = 0; i < dirs.size(); ++i) {
    std::string label = "Verifying " + std::to_string(i + 1) + "/" + std::to_string(dirs.size());
    MV_ASSIGN_OR_RETURN(DirReport report,
                        VerifyDir(dirs[i], a.backing, label, header, trusted, state));
    PrintReport(report);
    if (report.problems.empty()) continue;
    ++bad_dirs;
    problems += report.problems.size();
    if (first.empty()) {
      const volume::VerifyProblem& p = report.problems.front();
      first = (p.path.empty() ? report.dir : p.path) + ": " + p.what;
    }
  }
  if (!found.unfinished.empty()) {
    bad_dirs += found.unfinished.size();
    problems += found.unfinished.size();
    if (first.empty()) first = found.unfinished.front() + ": frozen but not signed";
  }
  if (problems == 0) {
    std::cout << dirs.size() << " signed director" << (dirs.size() == 1 ? "y" : "ies")
              << " intact.\n";
    return Status::Ok();
  }
  return Status::Corruption(
      std::to_string(problems) + " problem(s) in " + std::to_string(bad_dirs) + " of " +
      std::to_string(dirs.size() + found.unfinished.size()) +
      (found.unfinished.empty() ? " signed directories" : " signed or frozen directories") +
      " (first: " + first + ")");
}

}  // namespace

void AddVerifyCommand(CLI::App& app) {
  auto a = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Check every signed directory of a backing directory or backup, without a key");
  cmd->footer(
      "Finds each directory holding a .mvmanifest (the store's root may be one), checks its\n"
      "signature against the --trust keys, that it belongs to this store, and hashes every\n"
      "block of every file against the signed Merkle roots. Works on a copy (cp -a, tar) of\n"
      "the backing directory; needs no store key. Problems name backing paths, since names\n"
      "stay encrypted. Unsigned directories have block-level integrity only and are not\n"
      "checked here. On a serving host it also refuses a version older than one the host\n"
      "has accepted (its rollback state: --state-file, the state_file: of its config).\n"
      "Exits 1 on any problem.\n"
      "Examples:\n"
      "  modelvault verify /backup/models.enc --trust /etc/modelvault/publisher.pub.pem\n"
      "  modelvault verify /srv/models.enc --trust team-a.pub.pem --trust team-b.pub.pem\n"
      "  modelvault verify /srv/models.enc --trust publisher.pub.pem "
      "--state-file /var/lib/modelvault/state.json");
  cmd->add_option("BACKING", a->backing, "The backing directory, or a copy of it")->required();
  cmd->add_option("--trust", a->trust, "A publisher's public key (PEM); may be repeated")
      ->required();
  cmd->add_option("--state-file", a->state_file,
                  "This host's rollback state, if its mounts keep it elsewhere than the default "
                  "($MODELVAULT_STATE_FILE, else /var/lib/modelvault/state.json for root)")
      ->type_name("FILE");
  SetAction(cmd, [a] { return RunVerify(*a); });
}

}  // namespace modelvault::cli
