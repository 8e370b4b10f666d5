// ESAPI plumbing for the tpm2 provider: an owner for an ESYS context and its TCTI, an owner
// for a transient object or session handle (flushed when it goes away, so that nothing stays
// loaded in a TPM without a resource manager, such as swtpm, which has three object slots),
// the SRK, sessions, and TSS2_RC to Status mapping.
//
// Internal to keyprovider/tpm2 (and its tests); <tss2/*> stays behind these files. Not
// thread-safe: one EsysContext per thread, and every EsysHandle must die before the context
// it was made in.
#pragma once

#include <tss2/tss2_esys.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace modelvault::keyprovider::tpm2 {

// Frees memory that ESAPI returned.
struct EsysFree {
  void operator()(void* p) const { Esys_Free(p); }
};
template <class T>
using EsysPtr = std::unique_ptr<T, EsysFree>;

// "esapi:the authorization HMAC check failed and DA counter incremented (0x98e)".
std::string RcText(TSS2_RC rc);
// The TPM's own response code with the handle, session or parameter number cleared, or 0
// when `rc` comes from a software layer: compare it with TPM2_RC_AUTH_FAIL and friends.
TSS2_RC TpmRcBase(TSS2_RC rc);

class EsysContext {
 public:
  // Connects through `tcti` (Tss2_TctiLdr_Initialize syntax). IOError "TPM not reachable
  // through TCTI '...': <cause>" if it cannot.
  static Result<EsysContext> Open(const std::string& tcti);

  EsysContext(EsysContext&& other) noexcept;
  EsysContext& operator=(EsysContext&& other) noexcept;
  EsysContext(const EsysContext&) = delete;
  EsysContext& operator=(const EsysContext&) = delete;
  ~EsysContext() { Reset(); }

  ESYS_CONTEXT* get() const { return esys_; }
  const std::string& tcti() const { return tcti_; }
  // The Status for a failed ESAPI call: IOError "TPM not reachable through TCTI ..." for
  // transport failures, else IOError "<what>: <decoded rc>".
  Status Error(TSS2_RC rc, std::string_view what) const;

 private:
  EsysContext(std::string tcti, TSS2_TCTI_CONTEXT* tcti_ctx, ESYS_CONTEXT* esys)
      : tcti_(std::move(tcti)), tcti_ctx_(tcti_ctx), esys_(esys) {}
  // Finalizes the ESYS context before the TCTI it talks through.
  void Reset();

  std::string tcti_;
  TSS2_TCTI_CONTEXT* tcti_ctx_ = nullptr;
  ESYS_CONTEXT* esys_ = nullptr;
};

// A transient object or session handle, flushed from the TPM when destroyed.
class EsysHandle {
 public:
  EsysHandle() = default;
  EsysHandle(ESYS_CONTEXT* esys, ESYS_TR handle) : esys_(esys), handle_(handle) {}
  EsysHandle(EsysHandle&& other) noexcept;
  EsysHandle& operator=(EsysHandle&& other) noexcept;
  EsysHandle(const EsysHandle&) = delete;
  EsysHandle& operator=(const EsysHandle&) = delete;
  ~EsysHandle() { Reset(); }

  ESYS_TR get() const { return handle_; }
  void Reset();

 private:
  ESYS_CONTEXT* esys_ = nullptr;
  ESYS_TR handle_ = ESYS_TR_NONE;
};

// The storage root key: the TCG SRK template, ECC NIST P-256 (restricted decrypt,
// AES-128-CFB, empty unique), created in the owner hierarchy with its empty auth. The same
// TPM always derives the same key, so its name identifies the TPM.
Result<EsysHandle> CreateSrk(const EsysContext& ctx);
// The TPM name of a loaded object.
Result<std::vector<uint8_t>> ObjectName(const EsysContext& ctx, ESYS_TR object);

// Starts a session of `type` (TPM2_SE_HMAC, TPM2_SE_POLICY, TPM2_SE_TRIAL) with SHA-256.
// With `salt_key` (the SRK), the session key is salted with a secret encrypted to it and
// parameters are encrypted with AES-128-CFB, per `attributes` (TPMA_SESSION_*).
// TPMA_SESSION_CONTINUESESSION is always added: ESAPI would otherwise forget the session
// behind our back after its first use, and EsysHandle flushes it explicitly.
Result<EsysHandle> StartSession(const EsysContext& ctx, TPM2_SE type, ESYS_TR salt_key,
                                TPMA_SESSION attributes);

}  // namespace modelvault::keyprovider::tpm2
