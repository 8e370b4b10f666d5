#include "cli/service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

#include "base/log.h"

namespace modelvault::cli {
namespace {

// A status line must stay one line: the notification protocol separates fields by newlines.
std::string OneLine(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

void Send(const std::string& message) {
  if (!ServiceManagerListens()) return;
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) LogDebug("sd_notify: " + std::string(strerror(-rc)));
}

}  // namespace

bool ServiceManagerListens() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && socket[0] != '\0';
}

void NotifyStatus(const std::string& status) { Send("STATUS=" + OneLine(status)); }

void NotifyReady(const std::string& status) { Send("READY=1\nSTATUS=" + OneLine(status)); }

void NotifyStopping() { Send("STOPPING=1\nSTATUS=Stopping"); }

}  // namespace modelvault::cli
