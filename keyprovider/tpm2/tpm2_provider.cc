// The tpm2 provider: a random 32-byte KEK sealed in the TPM as a keyed-hash object under
// the SRK, released by TPM2_Unseal only while the slot's policy holds (PCR values, PIN);
// the KEK then opens the slot's envelope (slot_seal.h). Layout in tpm2_slot.h, policy in
// tpm2_policy.h, ESAPI plumbing in esys.h.
//
// Secrets on the wire travel in salted sessions (the salt encrypted to the SRK), with
// parameter encryption: the KEK and authValue in TPM2_Create, the KEK in TPM2_Unseal's
// response. The PIN-derived authValue is HKDF-SHA256 with a per-slot salt, not a slow KDF:
// the sealed object is DA-protected (no noDA), so the TPM bounds the guessing.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "crypto/kdf.h"
#include "crypto/random.h"
#include "keyprovider/key_provider.h"
#include "keyprovider/slot_seal.h"
#include "keyprovider/tpm2/esys.h"
#include "keyprovider/tpm2/tpm2_policy.h"
#include "keyprovider/tpm2/tpm2_slot.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;
using tpm2::EsysContext;
using tpm2::EsysHandle;
using tpm2::Tpm2Slot;

constexpr std::string_view kPinLabel = "modelvault v1 tpm2-pin";
constexpr size_t kKekSize = 32;
constexpr size_t kAuthSize = 32;

template <class T>
void CleanseStruct(T* value) {
  Cleanse({reinterpret_cast<uint8_t*>(value), sizeof(T)});
}

// The TPM drops trailing zero bytes of an authValue when it stores one (TPM 2.0 Part 1,
// "authValue"), and ESAPI does not when it computes HMACs with ours; trimming them on both
// sides keeps the two in step for the 1 in 256 PINs whose derived value ends in zero.
TPM2B_AUTH AuthOf(const SecretBytes& auth) {
  TPM2B_AUTH out{};
  size_t size = auth.size();
  while (size > 0 && auth.data()[size - 1] == 0) --size;
  std::copy_n(auth.data(), size, out.buffer);
  out.size = static_cast<uint16_t>(size);
  return out;
}

Result<SecretBytes> PinAuth(const SecretBytes& pin, std::span<const uint8_t> salt) {
  return crypto::HkdfSha256(pin.span(), salt, crypto::AsBytes(kPinLabel), kAuthSize);
}

// Whether the TCTI recorded in a slot may be used without the user naming it. The header is
// editable by whoever can write the backing directory, and the TCTI loader dlopen()s names
// it does not know and runs "cmd:" strings; "device:" opens any path read-write, and a
// networked TPM could be a fake one that collects PIN-keyed HMACs to guess offline. So a
// TCTI from the header must be a local TPM: a /dev/tpm* device or swtpm on a Unix socket.
bool IsLocalTcti(std::string_view tcti) {
  auto digits_after = [](std::string_view text, std::string_view prefix) {
    if (!text.starts_with(prefix) || text.size() == prefix.size()) return false;
    return text.substr(prefix.size()).find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (tcti == "device:" || digits_after(tcti, "device:/dev/tpmrm") ||
      digits_after(tcti, "device:/dev/tpm")) {
    return true;
  }
  constexpr std::string_view kSwtpmPath = "swtpm:path=/";
  return tcti.starts_with(kSwtpmPath) && tcti.find(',') == std::string_view::npos &&
         tcti.find("..") == std::string_view::npos;
}

std::string PcrList(const std::vector<int>& pcrs) {
  std::string text;
  for (int pcr : pcrs) text += (text.empty() ? "" : ", ") + std::to_string(pcr);
  return text;
}

// The TPM connection and its SRK, made once per provider and TCTI: a header may hold slots
// of several hosts, and each CreatePrimary of an ECC key costs the TPM real time.
struct Connection {
  EsysContext ctx;  // declared first, destroyed last: the SRK is flushed through it
  EsysHandle srk;
  std::vector<uint8_t> srk_name;
};

class Tpm2Provider final : public KeyProvider {
 public:
  explicit Tpm2Provider(Tpm2Options options) : options_(std::move(options)) {}

  std::string Type() const override { return tpm2::kSlotType; }

  Result<json> Enrol(const SecretBytes& master_key, const volume::VolumeId& volume_id,
                     int slot_id) override {
    return DroppingBrokenConnection(DoEnrol(master_key, volume_id, slot_id));
  }

  Result<SecretBytes> Unlock(const json& slot, const volume::VolumeId& volume_id) override {
    return DroppingBrokenConnection(DoUnlock(slot, volume_id));
  }

 private:
  // After a transport failure the connection may be half-dead; the next call reconnects.
  template <class T>
  Result<T> DroppingBrokenConnection(Result<T> result) {
    if (!result.ok() && result.status().code() == Code::kIOError) conn_.reset();
    return result;
  }

  Result<Connection*> Connect(const std::string& tcti) {
    if (conn_ != nullptr && conn_->ctx.tcti() == tcti) return conn_.get();
    conn_.reset();
    MV_ASSIGN_OR_RETURN(EsysContext ctx, EsysContext::Open(tcti));
    MV_ASSIGN_OR_RETURN(EsysHandle srk, tpm2::CreateSrk(ctx));
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> name, tpm2::ObjectName(ctx, srk.get()));
    conn_ =
        std::make_unique<Connection>(Connection{std::move(ctx), std::move(srk), std::move(name)});
    return conn_.get();
  }

  Result<json> DoEnrol(const SecretBytes& master_key, const volume::VolumeId& volume_id,
                       int slot_id);
  Result<SecretBytes> DoUnlock(const json& slot, const volume::VolumeId& volume_id);
  // Creates the sealed object holding `kek` and fills in fields.sealed_*.
  Status Seal(const Connection& c, const SecretBytes& kek, const SecretBytes& auth,
              const std::vector<uint8_t>& policy, Tpm2Slot* fields);
  Result<SecretBytes> Unseal(const Connection& c, const Tpm2Slot& fields, const SecretBytes& auth,
                             const std::string& name);
  // Why the policy session's digest differs from the sealed object's authPolicy.
  Status PolicyMismatch(const Connection& c, const Tpm2Slot& fields, const std::string& name);
  Status WrongPin(const Connection& c, const std::string& name);

  const Tpm2Options options_;
  std::unique_ptr<Connection> conn_;
};

Result<json> Tpm2Provider::DoEnrol(const SecretBytes& master_key, const volume::VolumeId& volume_id,
                                   int slot_id) {
  Tpm2Slot fields;
  fields.pcrs = options_.pcrs;
  std::sort(fields.pcrs.begin(), fields.pcrs.end());
  fields.pcrs.erase(std::unique(fields.pcrs.begin(), fields.pcrs.end()), fields.pcrs.end());
  for (int pcr : fields.pcrs) {
    if (pcr < 0 || pcr >= tpm2::kPcrCount) {
      return Status::InvalidArgument("PCR " + std::to_string(pcr) + " does not exist (0..23)");
    }
  }
  fields.pin = options_.pin.has_value();
  SecretBytes auth;
  if (fields.pin) {
    if (options_.pin->empty()) return Status::InvalidArgument("the TPM PIN is empty");
    fields.pin_salt.resize(tpm2::kPinSaltSize);
    MV_RETURN_IF_ERROR(crypto::RandomBytes(fields.pin_salt));
    MV_ASSIGN_OR_RETURN(auth, PinAuth(*options_.pin, fields.pin_salt));
  }
  fields.tcti = options_.tcti.empty() ? std::string(kDefaultTpm2Tcti) : options_.tcti;
  MV_ASSIGN_OR_RETURN(Connection * c, Connect(fields.tcti));
  fields.parent_name = c->srk_name;
  MV_ASSIGN_OR_RETURN(fields.pcr_values, tpm2::ReadPcrs(c->ctx, fields.pcrs));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> policy,
                      tpm2::TrialPolicy(c->ctx, fields.pcrs, fields.pcr_values, fields.pin));
  MV_ASSIGN_OR_RETURN(SecretBytes kek, crypto::RandomSecret(kKekSize));
  MV_RETURN_IF_ERROR(Seal(*c, kek, auth, policy, &fields));
  json slot = internal::NewSlot(slot_id, tpm2::kSlotType, tpm2::kSlotKdf);
  MV_RETURN_IF_ERROR(tpm2::WriteTpm2Fields(fields, &slot));
  MV_RETURN_IF_ERROR(internal::SealSlot(kek, volume_id, master_key, &slot));
  return slot;
}

Status Tpm2Provider::Seal(const Connection& c, const SecretBytes& kek, const SecretBytes& auth,
                          const std::vector<uint8_t>& policy, Tpm2Slot* fields) {
  MV_ASSIGN_OR_RETURN(EsysHandle session,
                      tpm2::StartSession(c.ctx, TPM2_SE_HMAC, c.srk.get(),
                                         TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT));
  TPM2B_PUBLIC in_public{};
  TPMT_PUBLIC& area = in_public.publicArea;
  area.type = TPM2_ALG_KEYEDHASH;
  area.nameAlg = TPM2_ALG_SHA256;
  // No noDA: a wrong PIN counts towards the TPM's lockout. userWithAuth only without a
  // policy; with one, the policy is the only way in (else the PIN alone would bypass PCRs).
  area.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
  if (policy.empty()) area.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
  area.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
  area.authPolicy.size = static_cast<uint16_t>(policy.size());
  std::copy(policy.begin(), policy.end(), area.authPolicy.buffer);
  TPM2B_SENSITIVE_CREATE sensitive{};
  if (!auth.empty()) sensitive.sensitive.userAuth = AuthOf(auth);
  sensitive.sensitive.data.size = static_cast<uint16_t>(kek.size());
  std::memcpy(sensitive.sensitive.data.buffer, kek.data(), kek.size());
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcr{};
  TPM2B_PRIVATE* out_private = nullptr;
  TPM2B_PUBLIC* out_public = nullptr;
  TPM2B_CREATION_DATA* creation_data = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* creation_ticket = nullptr;
  TSS2_RC rc = Esys_Create(c.ctx.get(), c.srk.get(), session.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                           &sensitive, &in_public, &outside_info, &creation_pcr, &out_private,
                           &out_public, &creation_data, &creation_hash, &creation_ticket);
  CleanseStruct(&sensitive);
  tpm2::EsysPtr<TPM2B_PRIVATE> private_part(out_private);
  tpm2::EsysPtr<TPM2B_PUBLIC> public_part(out_public);
  Esys_Free(creation_data);
  Esys_Free(creation_hash);
  Esys_Free(creation_ticket);
  if (rc != TSS2_RC_SUCCESS) return c.ctx.Error(rc, "sealing the KEK (TPM2_Create)");
  fields->sealed_private = *private_part;
  fields->sealed_public = *public_part;
  return Status::Ok();
}

Result<SecretBytes> Tpm2Provider::DoUnlock(const json& slot, const volume::VolumeId& volume_id) {
  internal::SlotReader reader(slot);
  MV_RETURN_IF_ERROR(reader.Expect(tpm2::kSlotType, tpm2::kSlotKdf));
  MV_ASSIGN_OR_RETURN(Tpm2Slot fields, tpm2::ReadTpm2Fields(reader, slot));
  SecretBytes auth;
  if (fields.pin) {
    if (!options_.pin.has_value()) {
      return Status::InvalidArgument(reader.name() + " needs a PIN (--tpm2-pin-file)");
    }
    MV_ASSIGN_OR_RETURN(auth, PinAuth(*options_.pin, fields.pin_salt));
  }
  if (options_.tcti.empty() && !IsLocalTcti(fields.tcti)) {
    return Status::PermissionDenied(reader.name() + " records TCTI '" + fields.tcti +
                                    "', which is used only when named with --tpm2-tcti");
  }
  MV_ASSIGN_OR_RETURN(Connection * c, Connect(options_.tcti.empty() ? fields.tcti : options_.tcti));
  if (c->srk_name != fields.parent_name) {
    return Status::PermissionDenied(reader.name() + " is sealed to another TPM");
  }
  MV_ASSIGN_OR_RETURN(SecretBytes kek, Unseal(*c, fields, auth, reader.name()));
  return internal::OpenSlot(kek, volume_id, slot);
}

Result<SecretBytes> Tpm2Provider::Unseal(const Connection& c, const Tpm2Slot& fields,
                                         const SecretBytes& auth, const std::string& name) {
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc = Esys_Load(c.ctx.get(), c.srk.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                         &fields.sealed_private, &fields.sealed_public, &raw);
  if (tpm2::TpmRcBase(rc) != 0) {
    // Integrity, binding or attribute failures: the sealed blob is not one this TPM made
    // under this SRK, or it was edited.
    return Status::PermissionDenied(name + ": the TPM refuses the slot's sealed object (" +
                                    tpm2::RcText(rc) + ")");
  }
  if (rc != TSS2_RC_SUCCESS) return c.ctx.Error(rc, name + ": loading the sealed object");
  EsysHandle sealed(c.ctx.get(), raw);

  const TPM2B_DIGEST& auth_policy = fields.sealed_public.publicArea.authPolicy;
  EsysHandle session;
  if (fields.pcrs.empty() && !fields.pin) {
    // No policy (tpm2_policy.h): the object must say so too, else the slot was edited.
    bool no_policy = auth_policy.size == 0 &&
                     (fields.sealed_public.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH);
    if (!no_policy) return PolicyMismatch(c, fields, name);
    MV_ASSIGN_OR_RETURN(session,
                        tpm2::StartSession(c.ctx, TPM2_SE_HMAC, c.srk.get(), TPMA_SESSION_ENCRYPT));
  } else {
    MV_ASSIGN_OR_RETURN(
        session, tpm2::StartSession(c.ctx, TPM2_SE_POLICY, c.srk.get(), TPMA_SESSION_ENCRYPT));
    MV_RETURN_IF_ERROR(tpm2::ApplyPolicy(c.ctx, session.get(), fields.pcrs, fields.pin));
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> digest, tpm2::SessionDigest(c.ctx, session.get()));
    // Checked here rather than left to TPM2_Unseal, which would only say "policy failed".
    if (digest != std::vector<uint8_t>(auth_policy.buffer, auth_policy.buffer + auth_policy.size)) {
      return PolicyMismatch(c, fields, name);
    }
  }

  TPM2B_AUTH tpm_auth = AuthOf(auth);
  rc = Esys_TR_SetAuth(c.ctx.get(), sealed.get(), &tpm_auth);
  CleanseStruct(&tpm_auth);
  if (rc != TSS2_RC_SUCCESS) return c.ctx.Error(rc, name + ": setting the object's auth");
  TPM2B_SENSITIVE_DATA* raw_data = nullptr;
  rc = Esys_Unseal(c.ctx.get(), sealed.get(), session.get(), ESYS_TR_NONE, ESYS_TR_NONE, &raw_data);
  // ESAPI keeps its own copy of the authValue until the handle goes; overwrite it now.
  (void)Esys_TR_SetAuth(c.ctx.get(), sealed.get(), &tpm_auth);
  tpm2::EsysPtr<TPM2B_SENSITIVE_DATA> data(raw_data);
  TSS2_RC base = tpm2::TpmRcBase(rc);
  if (base == TPM2_RC_AUTH_FAIL || base == TPM2_RC_BAD_AUTH) return WrongPin(c, name);
  if (base == TPM2_RC_LOCKOUT) {
    return Status::PermissionDenied(
        name +
        ": the TPM is in dictionary-attack lockout after too many wrong PINs; it "
        "recovers with time, or with TPM2_DictionaryAttackLockReset");
  }
  if (base == TPM2_RC_POLICY_FAIL) return PolicyMismatch(c, fields, name);
  if (rc != TSS2_RC_SUCCESS) return c.ctx.Error(rc, name + ": unsealing the KEK (TPM2_Unseal)");
  SecretBytes kek = SecretBytes::CopyOf({data->buffer, data->size});
  CleanseStruct(data.get());
  if (kek.size() != kKekSize) {
    return Status::PermissionDenied(name + ": the sealed object does not hold a KEK");
  }
  return kek;
}

Status Tpm2Provider::PolicyMismatch(const Connection& c, const Tpm2Slot& fields,
                                    const std::string& name) {
  MV_ASSIGN_OR_RETURN(std::vector<crypto::Digest> now, tpm2::ReadPcrs(c.ctx, fields.pcrs));
  std::vector<int> changed;
  for (size_t i = 0; i < fields.pcrs.size(); ++i) {
    if (now[i] != fields.pcr_values[i]) changed.push_back(fields.pcrs[i]);
  }
  // The recorded values come from the header; an edited slot could make an unchanged PCR
  // look changed, which the message admits.
  if (!changed.empty()) {
    return Status::PermissionDenied(name + (changed.size() == 1 ? ": PCR " : ": PCRs ") +
                                    PcrList(changed) +
                                    " changed since enrolment (or the slot's PCR fields were "
                                    "edited)");
  }
  return Status::PermissionDenied(name +
                                  ": the slot's PCR/PIN binding does not match its sealed "
                                  "object (the slot was edited)");
}

Status Tpm2Provider::WrongPin(const Connection& c, const std::string& name) {
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* raw = nullptr;
  TSS2_RC rc = Esys_GetCapability(c.ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_TPM_PROPERTIES, TPM2_PT_LOCKOUT_COUNTER, 2, &more, &raw);
  tpm2::EsysPtr<TPMS_CAPABILITY_DATA> data(raw);
  uint32_t counter = 0;
  uint32_t max_tries = 0;
  if (rc == TSS2_RC_SUCCESS) {
    const TPML_TAGGED_TPM_PROPERTY& props = data->data.tpmProperties;
    for (uint32_t i = 0; i < props.count; ++i) {
      if (props.tpmProperty[i].property == TPM2_PT_LOCKOUT_COUNTER) {
        counter = props.tpmProperty[i].value;
      }
      if (props.tpmProperty[i].property == TPM2_PT_MAX_AUTH_FAIL) {
        max_tries = props.tpmProperty[i].value;
      }
    }
  }
  if (max_tries == 0) return Status::PermissionDenied("wrong PIN for " + name);
  uint32_t left = max_tries > counter ? max_tries - counter : 0;
  if (left == 0) {
    return Status::PermissionDenied("wrong PIN for " + name +
                                    "; the TPM is now in dictionary-attack lockout");
  }
  return Status::PermissionDenied("wrong PIN for " + name + " (" + std::to_string(left) +
                                  (left == 1 ? " try" : " tries") +
                                  " left before the TPM locks out)");
}

}  // namespace

std::unique_ptr<KeyProvider> NewTpm2Provider(Tpm2Options options) {
  return std::make_unique<Tpm2Provider>(std::move(options));
}

}  // namespace modelvault::keyprovider
