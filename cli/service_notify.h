// Service notification: tells a service manager that waits for it (a systemd unit with
// Type=notify) how the mount daemon is doing, through sd_notify(3). Every function does
// nothing unless NOTIFY_SOCKET is set; a message that cannot be delivered is logged at
// debug level, since the daemon works without a manager. Thread-safe.
#pragma once

#include <string>

namespace modelvault::cli {

// True if a service manager listens (NOTIFY_SOCKET is set).
bool ServiceManagerListens();
// One line of status for `systemctl status` ("Unlocking /srv/models.enc").
void NotifyStatus(const std::string& status);
// The service is up: the mount answers requests. Sends READY=1 with a status line.
void NotifyReady(const std::string& status);
// The service has begun to shut down (STOPPING=1).
void NotifyStopping();

}  // namespace modelvault::cli
