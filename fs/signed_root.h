// SignedRoot: one signed directory as a reader checks it (signed_tree.h). Load() reads the
// manifest through the directory's backing descriptor and checks, once, its signature, its
// volume and block size, its version against the host's rollback state, and the backing
// listing (every entry present with its kind and size, nothing added); Leaves() loads and
// checks a file's leaf hashes on its first open. Thread-safe.
#pragma once

#include <sys/stat.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "volume/manifest.h"

namespace modelvault::fs {

struct SignaturePolicy;

class SignedRoot {
 public:
  // `dirfd` is the signed directory's backing directory; `path` its backing path (for
  // messages and the audit trail).
  static std::shared_ptr<SignedRoot> Load(int dirfd, std::string path,
                                          const SignaturePolicy& policy);

  // Ok, or why nothing in this directory may be read; `failure` names the check
  // ("signature", "rollback", "listing") for the audit trail.
  const Status& status() const { return status_; }
  const std::string& failure() const { return failure_; }
  const volume::Manifest& manifest() const { return manifest_; }
  const std::string& path() const { return path_; }
  // True if .mvmanifest is no longer the file that was loaded.
  bool Stale() const;

  // The leaf hashes of the file `entry`, checked against its Merkle root. They are shared by
  // every open of the file and freed with its last one: 32 bytes per block (2 MiB per GiB of
  // model) would otherwise stay in the daemon's locked memory for each file ever opened.
  Result<std::shared_ptr<const std::vector<crypto::Digest>>> Leaves(
      const volume::ManifestEntry& entry);

 private:
  SignedRoot(UniqueFd dirfd, std::string path) : dirfd_(std::move(dirfd)), path_(std::move(path)) {}
  Status Check(const SignaturePolicy& policy);
  Status CheckListing() const;

  UniqueFd dirfd_;
  std::string path_;
  volume::Manifest manifest_;
  struct stat loaded_ {};  // .mvmanifest as it was when read
  Status status_;
  std::string failure_;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<const std::vector<crypto::Digest>>> leaves_;  // mu_
};

}  // namespace modelvault::fs
