#include "keyprovider/tpm2/tpm2_policy.h"

#include <cstring>
#include <string>

namespace modelvault::keyprovider::tpm2 {
namespace {

Status PolicyPcr(const EsysContext& ctx, ESYS_TR session, std::span<const int> pcrs,
                 const TPM2B_DIGEST& pcr_digest) {
  TPML_PCR_SELECTION selection = PcrSelection(pcrs);
  TSS2_RC rc = Esys_PolicyPCR(ctx.get(), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              &pcr_digest, &selection);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "TPM2_PolicyPCR");
  return Status::Ok();
}

Status PolicyAuthValue(const EsysContext& ctx, ESYS_TR session) {
  TSS2_RC rc = Esys_PolicyAuthValue(ctx.get(), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "TPM2_PolicyAuthValue");
  return Status::Ok();
}

}  // namespace

TPML_PCR_SELECTION PcrSelection(std::span<const int> pcrs) {
  TPML_PCR_SELECTION selection{};
  selection.count = 1;
  TPMS_PCR_SELECTION& bank = selection.pcrSelections[0];
  bank.hash = TPM2_ALG_SHA256;
  bank.sizeofSelect = 3;
  for (int pcr : pcrs) bank.pcrSelect[pcr / 8] |= static_cast<uint8_t>(1u << (pcr % 8));
  return selection;
}

Result<std::vector<crypto::Digest>> ReadPcrs(const EsysContext& ctx, std::span<const int> pcrs) {
  // One PCR per TPM2_PCR_Read: a read returns at most eight digests and may return fewer
  // than asked, and there are at most 24 PCRs, so this keeps the bookkeeping trivial.
  std::vector<crypto::Digest> values;
  for (int pcr : pcrs) {
    TPML_PCR_SELECTION selection = PcrSelection(std::span<const int>(&pcr, 1));
    uint32_t update_counter = 0;
    TPML_PCR_SELECTION* raw_out = nullptr;
    TPML_DIGEST* raw_values = nullptr;
    TSS2_RC rc = Esys_PCR_Read(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &selection,
                               &update_counter, &raw_out, &raw_values);
    EsysPtr<TPML_PCR_SELECTION> out(raw_out);
    EsysPtr<TPML_DIGEST> digests(raw_values);
    if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "reading PCR " + std::to_string(pcr));
    if (digests->count != 1 || digests->digests[0].size != sizeof(crypto::Digest)) {
      return Status::Unsupported("the TPM has no SHA-256 value for PCR " + std::to_string(pcr));
    }
    crypto::Digest value;
    std::memcpy(value.data(), digests->digests[0].buffer, value.size());
    values.push_back(value);
  }
  return values;
}

Result<std::vector<uint8_t>> TrialPolicy(const EsysContext& ctx, std::span<const int> pcrs,
                                         std::span<const crypto::Digest> values, bool pin) {
  if (pcrs.empty() && !pin) return std::vector<uint8_t>();
  MV_ASSIGN_OR_RETURN(EsysHandle trial, StartSession(ctx, TPM2_SE_TRIAL, ESYS_TR_NONE, 0));
  if (!pcrs.empty()) {
    // The digest of the values we read and record, rather than an empty one (which makes
    // the TPM use its current values): a PCR extended between our read and this command
    // cannot then make the slot's recorded values disagree with its policy.
    std::vector<uint8_t> concatenated;
    for (const crypto::Digest& value : values) {
      concatenated.insert(concatenated.end(), value.begin(), value.end());
    }
    crypto::Digest digest = crypto::Sha256(concatenated);
    TPM2B_DIGEST pcr_digest{};
    pcr_digest.size = digest.size();
    std::memcpy(pcr_digest.buffer, digest.data(), digest.size());
    MV_RETURN_IF_ERROR(PolicyPcr(ctx, trial.get(), pcrs, pcr_digest));
  }
  if (pin) MV_RETURN_IF_ERROR(PolicyAuthValue(ctx, trial.get()));
  return SessionDigest(ctx, trial.get());
}

Status ApplyPolicy(const EsysContext& ctx, ESYS_TR session, std::span<const int> pcrs, bool pin) {
  if (!pcrs.empty()) MV_RETURN_IF_ERROR(PolicyPcr(ctx, session, pcrs, TPM2B_DIGEST{}));
  if (pin) MV_RETURN_IF_ERROR(PolicyAuthValue(ctx, session));
  return Status::Ok();
}

Result<std::vector<uint8_t>> SessionDigest(const EsysContext& ctx, ESYS_TR session) {
  TPM2B_DIGEST* raw = nullptr;
  TSS2_RC rc =
      Esys_PolicyGetDigest(ctx.get(), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "TPM2_PolicyGetDigest");
  EsysPtr<TPM2B_DIGEST> digest(raw);
  return std::vector<uint8_t>(digest->buffer, digest->buffer + digest->size);
}

}  // namespace modelvault::keyprovider::tpm2
