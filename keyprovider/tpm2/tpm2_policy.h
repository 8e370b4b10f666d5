// The authorization policy of a sealed KEK: PolicyPCR over the chosen SHA-256 PCRs, then
// PolicyAuthValue when the slot has a PIN. A slot with neither has no policy at all (empty
// authPolicy, userWithAuth, empty authValue): there is nothing to assert, and an all-zero
// policy digest would be satisfied by any fresh policy session anyway.
//
// Internal to keyprovider/tpm2. Not thread-safe (see esys.h).
#pragma once

#include <span>
#include <vector>

#include "base/result.h"
#include "crypto/hash.h"
#include "keyprovider/tpm2/esys.h"

namespace modelvault::keyprovider::tpm2 {

inline constexpr int kPcrCount = 24;

// A selection of `pcrs` (each 0..23) in the SHA-256 bank.
TPML_PCR_SELECTION PcrSelection(std::span<const int> pcrs);
// The current SHA-256 values of `pcrs`, in the same order. Unsupported if the TPM has no
// SHA-256 bank for one of them.
Result<std::vector<crypto::Digest>> ReadPcrs(const EsysContext& ctx, std::span<const int> pcrs);

// The policy digest for `pcrs` holding `values`, with PolicyAuthValue if `pin`, computed by
// the TPM in a trial session; empty when there are no PCRs and no PIN.
Result<std::vector<uint8_t>> TrialPolicy(const EsysContext& ctx, std::span<const int> pcrs,
                                         std::span<const crypto::Digest> values, bool pin);
// Runs the policy commands on a real policy session: PolicyPCR asserting the PCRs' current
// values (whatever they are; the caller compares the resulting digest), then
// PolicyAuthValue if `pin`.
Status ApplyPolicy(const EsysContext& ctx, ESYS_TR session, std::span<const int> pcrs, bool pin);
// The session's policy digest so far.
Result<std::vector<uint8_t>> SessionDigest(const EsysContext& ctx, ESYS_TR session);

}  // namespace modelvault::keyprovider::tpm2
