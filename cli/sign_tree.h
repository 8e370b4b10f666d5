// What `modelvault sign` does with the plaintext tree of a directory through its mount,
// around the hashing of its ciphertext: writing back the kernel's cache first, and making
// sure nothing outside the directory can still change what gets signed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"

namespace modelvault::cli {

// Writes back everything the kernel still holds for the files under `path` (the writeback
// cache), so that what is hashed is what was written. `progress` hears the bytes of the
// files written back so far, after each file, and their total.
Status FlushTree(const std::string& path,
                 const std::function<void(uint64_t done, uint64_t total)>& progress);

// InvalidArgument naming the first regular file under `path` that has a hard link outside
// it. Freezing covers the directory's own names only: a write, truncate or chmod through a
// link elsewhere in the store would still reach the signed content.
Status CheckNoOutsideLinks(const std::string& path);

// "PATH (pid N, COMM)" for a file under `path` some process has open for writing, as far
// as this user may see other processes' descriptors; "" if none is found.
std::string FindWriter(const std::string& path);

// `failure` with each backing path of an object under the mounted directory `path` (whose
// store's backing directory is `backing`) followed by the object's name in the mount: what
// goes wrong while hashing names the ciphertext, which the publisher cannot recognize.
Status WithPlaintextNames(const Status& failure, const std::string& path,
                          const std::string& backing);

}  // namespace modelvault::cli
