// Small POSIX file helpers shared by the volume and the command line. Errors name the path.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "base/unique_fd.h"

namespace modelvault {

// Reads a whole regular file, refusing files larger than `max_size`.
Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, size_t max_size);
// Reads a whole file into locked memory (key files, passphrase files).
Result<SecretBytes> ReadSecretFile(const std::string& path, size_t max_size);
// Replaces `path` atomically: writes a temporary file beside it, fsyncs it, renames it over
// `path` and fsyncs the directory, so a crash leaves either the old or the new contents.
Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> bytes, int mode,
                           std::string_view temp_suffix = ".tmp");
// Creates `path` exclusively (fails if it exists) with `mode`, writes and fsyncs `bytes`.
Status WriteNewFile(const std::string& path, std::span<const uint8_t> bytes, int mode);

// pread/pwrite loops that retry on EINTR and short transfers. PreadFull returns how many
// bytes were read (less than asked only at end of file).
Result<size_t> PreadFull(int fd, std::span<uint8_t> out, uint64_t offset);
Status PwriteFull(int fd, std::span<const uint8_t> in, uint64_t offset);
// Writes all of `bytes` to `fd` at its current position (a pipe, a socket), retrying
// after signals.
Status WriteFull(int fd, std::span<const uint8_t> bytes);

}  // namespace modelvault
