// The unlock engine: which keyslots to try with what, and how to report why none opened.
#include "cli/unlock.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <vector>

#include "cli/secret_inputs.h"
#include "cli/terminal.h"
#include "keyprovider/key_provider.h"

namespace modelvault::cli {
namespace {

using config::UnlockSettings;
using keyprovider::KeyProvider;
using nlohmann::json;

const std::vector<std::string> kDefaultOrder = {"keyfile", "passphrase", "recovery", "tpm2",
                                                "pkcs11"};

// One way to try: a provider and which slots it may open.
struct Method {
  std::string slot_type;
  std::unique_ptr<KeyProvider> provider;
  // Without a PIN, slots that need one are left alone (and reported as such).
  bool has_pin = true;
  // A refused PIN counts against the token's or TPM's tries: after one, try no more slots.
  bool spends_pin_tries = false;
  std::string preferred_uri;  // pkcs11: slots made with this URI go first
};

int SlotId(const json& slot) {
  auto it = slot.find("id");
  return it != slot.end() && it->is_number_integer() ? it->get<int>() : -1;
}

std::string SlotType(const json& slot) {
  auto it = slot.find("type");
  return it != slot.end() && it->is_string() ? it->get<std::string>() : "";
}

bool SlotNeedsPin(const json& slot) {
  auto it = slot.find("pin");
  return SlotType(slot) == "pkcs11" || (it != slot.end() && it->is_boolean() && it->get<bool>());
}

bool HasSlot(const volume::VolumeHeader& header, const std::string& type, bool pinless = false) {
  return std::any_of(header.keyslots.begin(), header.keyslots.end(), [&](const json& slot) {
    return SlotType(slot) == type && !(pinless && SlotNeedsPin(slot));
  });
}

Result<std::optional<SecretBytes>> OptionalPin(const std::string& path) {
  if (path.empty()) return std::optional<SecretBytes>();
  MV_ASSIGN_OR_RETURN(SecretBytes pin, ReadPinFile(path));
  return std::optional<SecretBytes>(std::move(pin));
}

Result<std::optional<Method>> MakeMethod(const std::string& name, const UnlockSettings& s) {
  Method m;
  m.slot_type = name;
  if (name == "keyfile" && !s.keyfile.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes key, ReadKeyfile(s.keyfile));
    m.provider = keyprovider::NewKeyfileProvider(std::move(key));
  } else if (name == "passphrase" && !s.passphrase_file.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes passphrase, ReadPassphraseFile(s.passphrase_file));
    m.provider = keyprovider::NewPassphraseProvider(std::move(passphrase));
  } else if (name == "recovery" && !s.recovery_key_file.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes key, ReadRecoveryKeyFile(s.recovery_key_file));
    m.provider = keyprovider::NewRecoveryKeyProvider(std::move(key));
  } else if (name == "tpm2" && (s.tpm2 || !s.tpm2_tcti.empty() || !s.tpm2_pin_file.empty())) {
    keyprovider::Tpm2Options options;
    options.tcti = s.tpm2_tcti;
    MV_ASSIGN_OR_RETURN(options.pin, OptionalPin(s.tpm2_pin_file));
    m.has_pin = m.spends_pin_tries = options.pin.has_value();
    m.provider = keyprovider::NewTpm2Provider(std::move(options));
  } else if (name == "pkcs11" &&
             (!s.pkcs11_uri.empty() || !s.pkcs11_pin_file.empty() || !s.pkcs11_module.empty())) {
    keyprovider::Pkcs11Options options;
    options.uri = m.preferred_uri = s.pkcs11_uri;
    options.module = s.pkcs11_module;
    MV_ASSIGN_OR_RETURN(options.pin, OptionalPin(s.pkcs11_pin_file));
    m.has_pin = m.spends_pin_tries = options.pin.has_value();
    m.provider = keyprovider::NewPkcs11Provider(std::move(options));
  } else {
    return std::optional<Method>();
  }
  return std::optional<Method>(std::move(m));
}

// What happened to each slot tried. A message that names its slot stays as it is; one that
// does not (a module that will not load, a TPM that cannot be reached) is said once for all
// the slots it stopped: "keyslots 4, 5: cannot load ...".
class Outcomes {
 public:
  // `spent_pin`: the attempt gave a PIN to a token or TPM, which may have counted a try.
  void Add(int slot_id, const Status& status, bool spent_pin = false) {
    pin_failures_ = pin_failures_ || spent_pin;
    const std::string& message = status.message();
    bool named = message.find("keyslot " + std::to_string(slot_id)) != std::string::npos;
    auto same = std::find_if(entries_.begin(), entries_.end(),
                             [&](const Entry& e) { return e.message == message; });
    if (same == entries_.end()) {
      entries_.push_back({message, named, {slot_id}});
    } else if (!named) {
      same->slots.push_back(slot_id);
    }
    codes_.push_back(status.code());
  }
  bool empty() const { return codes_.empty(); }
  bool pin_failures() const { return pin_failures_; }
  // "keyslot 1: PCR 7 changed ...; keyslots 4, 5: cannot load ..."
  std::string Text() const {
    std::string text;
    for (const Entry& e : entries_) {
      std::string line = e.message;
      if (!e.named) {
        std::string ids;
        for (int id : e.slots) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
        line = (e.slots.size() == 1 ? "keyslot " : "keyslots ") + ids + ": " + line;
      }
      text += (text.empty() ? "" : "; ") + line;
    }
    return text;
  }
  // One code if every failure had it, else PermissionDenied.
  Status ToStatus(const std::string& backing) const {
    Code code = codes_.front();
    for (Code c : codes_) {
      if (c != code) code = Code::kPermissionDenied;
    }
    std::string message = backing + ": no keyslot opened (" + Text() + ")";
    switch (code) {
      case Code::kIOError:
        return Status::IOError(message);
      case Code::kNotFound:
        return Status::NotFound(message);
      case Code::kCorruption:
        return Status::Corruption(message);
      case Code::kInvalidArgument:
        return Status::InvalidArgument(message);
      case Code::kUnsupported:
        return Status::Unsupported(message);
      default:
        return Status::PermissionDenied(message);
    }
  }

 private:
  struct Entry {
    std::string message;
    bool named;
    std::vector<int> slots;
  };
  std::vector<Entry> entries_;
  std::vector<Code> codes_;
  bool pin_failures_ = false;
};

// A slot opened after a PIN was refused on the way: say so, since that spent one of the
// token's or TPM's tries.
Unlocked Opened(Unlocked unlocked, const Outcomes& outcomes) {
  if (outcomes.pin_failures()) {
    std::cerr << "modelvault: warning: opened keyslot " << unlocked.slot_id << " after "
              << outcomes.Text() << "\n";
  }
  return unlocked;
}

// The slots `method` may try, in the order to try them.
std::vector<const json*> Candidates(const volume::VolumeHeader& header, const Method& method) {
  std::vector<const json*> slots;
  for (const json& slot : header.keyslots) {
    if (SlotType(slot) == method.slot_type) slots.push_back(&slot);
  }
  if (!method.preferred_uri.empty()) {
    std::stable_partition(slots.begin(), slots.end(), [&](const json* slot) {
      return slot->value("uri", json()).is_string() &&
             (*slot)["uri"].get<std::string>() == method.preferred_uri;
    });
  }
  return slots;
}

std::optional<Unlocked> TryMethod(const volume::VolumeHeader& header, Method& method,
                                  Outcomes* outcomes) {
  for (const json* slot : Candidates(header, method)) {
    int id = SlotId(*slot);
    if (!method.has_pin && SlotNeedsPin(*slot)) {
      outcomes->Add(id, Status::InvalidArgument(
                            "keyslot " + std::to_string(id) + " needs a PIN (" +
                            (method.slot_type == "tpm2" ? "--tpm2-pin-file" : "--pin-file") + ")"));
      continue;
    }
    auto key = method.provider->Unlock(*slot, header.volume_id);
    if (key.ok()) return Unlocked{std::move(key).value(), id, method.slot_type};
    outcomes->Add(id, key.status(), method.spends_pin_tries);
    if (method.spends_pin_tries && key.status().message().find("PIN") != std::string::npos) break;
  }
  return std::nullopt;
}

// "0 keyfile, 1 tpm2 (PIN)"
std::string DescribeSlots(const volume::VolumeHeader& header) {
  std::string out;
  for (const json& slot : header.keyslots) {
    out += (out.empty() ? "" : ", ") + std::to_string(SlotId(slot)) + " " + SlotType(slot) +
           (SlotNeedsPin(slot) ? " (needs a PIN)" : "");
  }
  return out.empty() ? "none" : out;
}

Status NoKeyGiven(const std::string& backing, const volume::VolumeHeader& header) {
  return Status::InvalidArgument(
      backing +
      ": no key given: use --keyfile, --passphrase-file, --recovery-key, --tpm2 or --pkcs11 "
      "(keyslots: " +
      DescribeSlots(header) + ")");
}

// With nothing named: TPM slots without a PIN, then a passphrase typed at the terminal.
Result<Unlocked> UnlockWithoutSecrets(const std::string& backing,
                                      const volume::VolumeHeader& header,
                                      const UnlockSettings& settings) {
  Outcomes outcomes;
  if (HasSlot(header, "tpm2", /*pinless=*/true)) {
    UnlockSettings tpm = settings;
    tpm.tpm2 = true;
    MV_ASSIGN_OR_RETURN(std::optional<Method> method, MakeMethod("tpm2", tpm));
    if (auto unlocked = TryMethod(header, *method, &outcomes)) {
      return Opened(std::move(*unlocked), outcomes);
    }
  }
  if (CanPrompt() && HasSlot(header, "passphrase")) {
    MV_ASSIGN_OR_RETURN(SecretBytes passphrase, PromptSecret("Passphrase for " + backing + ": "));
    Method method{"passphrase", keyprovider::NewPassphraseProvider(std::move(passphrase))};
    if (auto unlocked = TryMethod(header, method, &outcomes)) {
      return Opened(std::move(*unlocked), outcomes);
    }
  }
  if (outcomes.empty()) return NoKeyGiven(backing, header);
  return outcomes.ToStatus(backing);
}

}  // namespace

Result<Unlocked> UnlockMasterKey(const std::string& backing, const volume::VolumeHeader& header,
                                 const UnlockSettings& settings) {
  UnlockSettings s = settings;
  if (!s.order.empty()) s.tpm2 = s.tpm2 || std::count(s.order.begin(), s.order.end(), "tpm2");
  if (!s.AnyGiven()) return UnlockWithoutSecrets(backing, header, s);
  const std::vector<std::string>& order = s.order.empty() ? kDefaultOrder : s.order;
  Outcomes outcomes;
  std::string unused;
  for (const std::string& name : order) {
    MV_ASSIGN_OR_RETURN(std::optional<Method> method, MakeMethod(name, s));
    if (!method) continue;
    if (!HasSlot(header, name)) {
      unused += (unused.empty() ? "" : ", ") + name;
      continue;
    }
    if (auto unlocked = TryMethod(header, *method, &outcomes)) {
      return Opened(std::move(*unlocked), outcomes);
    }
  }
  if (outcomes.empty()) {
    return Status::NotFound(backing + ": the store has no " + unused +
                            " keyslot (keyslots: " + DescribeSlots(header) + ")");
  }
  return outcomes.ToStatus(backing);
}

}  // namespace modelvault::cli
