// What `info` and `keyslot list` show of a keyslot: its id, type, creation time and the
// parameters that are neither key material nor inputs to guessing it (PCRs, TCTI, token
// URI, ...). Salts, nonces, wrapped and sealed keys are never shown.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace modelvault::cli {

// The shown fields of `slot`.
nlohmann::json SlotSummary(const nlohmann::json& slot);
// "pcrs 0,7, pin, tcti device:/dev/tpmrm0": the shown fields beyond id, type and created.
std::string SlotParameters(const nlohmann::json& slot);

}  // namespace modelvault::cli
