// Changing a store's header with its key: unlock (perhaps at a prompt, holding no lock),
// then under the header-edit lock re-read the header, check its MAC (so that a slot
// swapped in is refused before anything is built on it) and its generation against this
// host's rollback state (so that an old header, with a slot since removed, is refused too),
// edit, count the generation up, seal and replace the file atomically. A failure at any
// step leaves modelvault.json as it was.
#pragma once

#include <functional>
#include <string>

#include "audit/audit_log.h"
#include "base/status.h"
#include "cli/unlock.h"
#include "volume/volume_header.h"
#include "volume/volume_keys.h"

namespace modelvault::cli {

// `edit` changes `header` in place; it sees the master key and which slot opened.
using HeaderEdit = std::function<Status(volume::VolumeHeader& header, const Unlocked& unlocked)>;

// `log` (may be null) gets the unlock record, naming `command`. A header without an audit
// key gets one (stores made before audit logs).
Status EditHeader(const std::string& backing, const config::UnlockSettings& unlock,
                  audit::AuditLog* log, const std::string& command, const HeaderEdit& edit);

// The part of EditHeader after unlocking, for a caller that has the keys already;
// `state_path` is the rollback state file ("" for the default).
Status EditHeaderWithKeys(const std::string& backing, const Unlocked& unlocked,
                          const volume::VolumeKeys& keys, const HeaderEdit& edit,
                          const std::string& state_path = "");

// Checks the MAC of `header` under `keys` (the error says which slot opened, since a
// header that fails after a slot opened was edited by someone without the key), then its
// generation against the rollback state at `state_path`, recording it if it is new.
Status VerifyHeader(const std::string& backing, const volume::VolumeHeader& header,
                    const volume::VolumeKeys& keys, int opened_slot, const std::string& state_path);

}  // namespace modelvault::cli
