#include "keyprovider/tpm2/esys.h"

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace modelvault::keyprovider::tpm2 {
namespace {

// The TSS libraries log their errors to stderr unless TSS2_LOG says otherwise; a failed
// unlock would spray ERROR lines over the tool's output although our Status already carries
// the cause. Silence them before the first library call, but only if the user has not asked
// for logs (overwrite = 0), so "TSS2_LOG=all+debug modelvault ..." still debugs a TPM. The
// level is read once per process, at the first log call.
void QuietTssLogging() {
  static std::once_flag once;
  std::call_once(once, [] { setenv("TSS2_LOG", "all+NONE", 0); });
}

std::string Hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%x", value);
  return text;
}

}  // namespace

std::string RcText(TSS2_RC rc) { return std::string(Tss2_RC_Decode(rc)) + " (" + Hex32(rc) + ")"; }

TSS2_RC TpmRcBase(TSS2_RC rc) {
  if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER) return 0;
  // Format-one codes carry the handle, session or parameter number in bits 6 and 8..11.
  if (rc & TPM2_RC_FMT1) return rc & (TPM2_RC_FMT1 | 0x3f);
  return rc & 0xfff;
}

Result<EsysContext> EsysContext::Open(const std::string& tcti) {
  QuietTssLogging();
  TSS2_TCTI_CONTEXT* tcti_ctx = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &tcti_ctx);
  if (rc != TSS2_RC_SUCCESS) {
    return Status::IOError("TPM not reachable through TCTI '" + tcti + "': " + RcText(rc));
  }
  ESYS_CONTEXT* esys = nullptr;
  rc = Esys_Initialize(&esys, tcti_ctx, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    Tss2_TctiLdr_Finalize(&tcti_ctx);
    return Status::IOError("TPM not reachable through TCTI '" + tcti + "': " + RcText(rc));
  }
  return EsysContext(tcti, tcti_ctx, esys);
}

EsysContext::EsysContext(EsysContext&& other) noexcept
    : tcti_(std::move(other.tcti_)),
      tcti_ctx_(std::exchange(other.tcti_ctx_, nullptr)),
      esys_(std::exchange(other.esys_, nullptr)) {}

EsysContext& EsysContext::operator=(EsysContext&& other) noexcept {
  if (this != &other) {
    Reset();
    tcti_ = std::move(other.tcti_);
    tcti_ctx_ = std::exchange(other.tcti_ctx_, nullptr);
    esys_ = std::exchange(other.esys_, nullptr);
  }
  return *this;
}

void EsysContext::Reset() {
  if (esys_ != nullptr) Esys_Finalize(&esys_);
  if (tcti_ctx_ != nullptr) Tss2_TctiLdr_Finalize(&tcti_ctx_);
  esys_ = nullptr;
  tcti_ctx_ = nullptr;
}

Status EsysContext::Error(TSS2_RC rc, std::string_view what) const {
  if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER) {
    return Status::IOError("TPM not reachable through TCTI '" + tcti_ + "': " + RcText(rc));
  }
  return Status::IOError(std::string(what) + ": " + RcText(rc));
}

EsysHandle::EsysHandle(EsysHandle&& other) noexcept
    : esys_(std::exchange(other.esys_, nullptr)),
      handle_(std::exchange(other.handle_, ESYS_TR_NONE)) {}

EsysHandle& EsysHandle::operator=(EsysHandle&& other) noexcept {
  if (this != &other) {
    Reset();
    esys_ = std::exchange(other.esys_, nullptr);
    handle_ = std::exchange(other.handle_, ESYS_TR_NONE);
  }
  return *this;
}

void EsysHandle::Reset() {
  if (esys_ != nullptr && handle_ != ESYS_TR_NONE) {
    // If the TPM cannot be told (the connection broke), at least free ESAPI's record.
    if (Esys_FlushContext(esys_, handle_) != TSS2_RC_SUCCESS) Esys_TR_Close(esys_, &handle_);
  }
  esys_ = nullptr;
  handle_ = ESYS_TR_NONE;
}

Result<EsysHandle> CreateSrk(const EsysContext& ctx) {
  TPM2B_PUBLIC in_public{};
  TPMT_PUBLIC& area = in_public.publicArea;
  area.type = TPM2_ALG_ECC;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  TPMS_ECC_PARMS& ecc = area.parameters.eccDetail;
  ecc.symmetric.algorithm = TPM2_ALG_AES;
  ecc.symmetric.keyBits.aes = 128;
  ecc.symmetric.mode.aes = TPM2_ALG_CFB;
  ecc.scheme.scheme = TPM2_ALG_NULL;
  ecc.curveID = TPM2_ECC_NIST_P256;
  ecc.kdf.scheme = TPM2_ALG_NULL;
  // authPolicy and unique stay empty, as the template says.
  TPM2B_SENSITIVE_CREATE in_sensitive{};
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcr{};
  ESYS_TR srk = ESYS_TR_NONE;
  TPM2B_PUBLIC* out_public = nullptr;
  TPM2B_CREATION_DATA* creation_data = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* creation_ticket = nullptr;
  TSS2_RC rc =
      Esys_CreatePrimary(ctx.get(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                         &in_sensitive, &in_public, &outside_info, &creation_pcr, &srk, &out_public,
                         &creation_data, &creation_hash, &creation_ticket);
  Esys_Free(out_public);
  Esys_Free(creation_data);
  Esys_Free(creation_hash);
  Esys_Free(creation_ticket);
  if (rc != TSS2_RC_SUCCESS) {
    return ctx.Error(rc, "creating the storage root key (TPM2_CreatePrimary, owner hierarchy)");
  }
  return EsysHandle(ctx.get(), srk);
}

Result<std::vector<uint8_t>> ObjectName(const EsysContext& ctx, ESYS_TR object) {
  TPM2B_NAME* raw = nullptr;
  TSS2_RC rc = Esys_TR_GetName(ctx.get(), object, &raw);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "reading an object's name");
  EsysPtr<TPM2B_NAME> name(raw);
  return std::vector<uint8_t>(name->name, name->name + name->size);
}

Result<EsysHandle> StartSession(const EsysContext& ctx, TPM2_SE type, ESYS_TR salt_key,
                                TPMA_SESSION attributes) {
  TPMT_SYM_DEF symmetric{};
  if (salt_key != ESYS_TR_NONE) {
    symmetric.algorithm = TPM2_ALG_AES;
    symmetric.keyBits.aes = 128;
    symmetric.mode.aes = TPM2_ALG_CFB;
  } else {
    symmetric.algorithm = TPM2_ALG_NULL;
  }
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_StartAuthSession(ctx.get(), salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            ESYS_TR_NONE, nullptr, type, &symmetric, TPM2_ALG_SHA256, &raw);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "starting a TPM session");
  EsysHandle session(ctx.get(), raw);
  rc = Esys_TRSess_SetAttributes(ctx.get(), raw, attributes | TPMA_SESSION_CONTINUESESSION, 0xff);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "setting session attributes");
  return session;
}

}  // namespace modelvault::keyprovider::tpm2
