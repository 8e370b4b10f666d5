// Swtpm: a throwaway software TPM 2.0 (swtpm) for tests, with a fresh state directory, on
// a Unix socket. Start() returns once it answers commands; destruction shuts it down
// (control channel CMD_SHUTDOWN, SIGKILL as a last resort) and removes the directory.
//
// swtpm serves one client connection at a time: a test must not call the helpers below (or
// a second provider) while a tpm2 provider instance holding a connection to the same swtpm
// is alive, or the call waits for that connection to close. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace modelvault::keyprovider::test {

class Swtpm {
 public:
  // Also raises the dictionary-attack limit to 32 tries (swtpm's default is 3), so that a
  // suite's deliberate wrong PINs do not lock the TPM out; see SetLockoutPolicy.
  static Result<std::unique_ptr<Swtpm>> Start();
  ~Swtpm();
  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;

  // "swtpm:path=<dir>/tpm.sock" (the swtpm TCTI finds the control socket at "<path>.ctrl").
  std::string Tcti() const;
  const std::string& dir() const { return dir_; }

  // Extends SHA-256 PCR `pcr` with a fixed digest, changing its value.
  Status ExtendPcr(int pcr);
  // How many transient objects / loaded sessions the TPM holds now.
  Result<int> TransientObjects();
  Result<int> LoadedSessions();
  // TPM2_DictionaryAttackParameters with the (empty) lockout authorization.
  Status SetLockoutPolicy(uint32_t max_tries, uint32_t recovery_seconds,
                          uint32_t lockout_recovery_seconds);

 private:
  Swtpm(std::string dir, pid_t pid) : dir_(std::move(dir)), pid_(pid) {}
  Status WaitUntilServing();
  Result<int> CountHandles(uint32_t first);

  const std::string dir_;
  const pid_t pid_;
};

}  // namespace modelvault::keyprovider::test
