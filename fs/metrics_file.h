// The daemon's Prometheus metrics, as a file for node_exporter's text-file collector
// (docs/MONITORING.md): MetricsText() renders a mount's status document (mount_status.h)
// in the text exposition format; MetricsFile rewrites the file from it every interval on a
// thread of its own, and once more with the final values when the mount ends.
//
// Each rewrite replaces the file atomically (a temporary file beside it, then rename), mode
// 0644, so the collector never reads half a file. A rewrite that fails is logged (once per
// distinct error) and tried again at the next interval; only the first write, at Start(),
// fails the mount, so that a wrong path is reported when the store is mounted.
//
// Thread-safe: Stop() may be called from any one thread; the destructor stops too.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "base/result.h"

namespace modelvault::fs {

// The exposition text of one mount: every family with # HELP and # TYPE, each sample
// labelled with the mountpoint and backing directory. `up` is modelvault_up's value.
std::string MetricsText(const nlohmann::json& status, bool up);

class MetricsFile {
 public:
  using StatusFn = std::function<nlohmann::json()>;

  // Writes `path` once and starts the thread that rewrites it every `interval`.
  static Result<std::unique_ptr<MetricsFile>> Start(std::string path, std::chrono::seconds interval,
                                                    StatusFn status);
  ~MetricsFile();
  MetricsFile(const MetricsFile&) = delete;
  MetricsFile& operator=(const MetricsFile&) = delete;

  // Ends the thread and writes the final values, with modelvault_up 0.
  Status Stop();

 private:
  MetricsFile(std::string path, std::chrono::seconds interval, StatusFn status)
      : path_(std::move(path)), interval_(interval), status_(std::move(status)) {}
  Status Write(bool up);
  void Run();

  const std::string path_;
  const std::chrono::seconds interval_;
  const StatusFn status_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;   // guarded by mu_
  std::string last_error_;  // only the thread touches it while it runs
  std::thread thread_;
};

}  // namespace modelvault::fs
