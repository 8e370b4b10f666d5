// HandleRegistry: the file and directory handles the kernel holds (fuse_file_info::fh).
//
// The kernel releases each handle with a request of its own, sent after the last close.
// A daemon stopped by a signal leaves its loop without the release requests of files that
// were still open, or whose release was still queued; the registry frees what is left when
// the filesystem goes, so that the descriptors are closed and nothing leaks.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace modelvault::fs {

class HandleRegistry {
 public:
  using Deleter = void (*)(uint64_t handle);

  HandleRegistry() = default;
  HandleRegistry(const HandleRegistry&) = delete;
  HandleRegistry& operator=(const HandleRegistry&) = delete;
  ~HandleRegistry() {
    for (auto& [handle, deleter] : live_) deleter(handle);
  }

  void Add(uint64_t handle, Deleter deleter) {
    std::lock_guard lock(mu_);
    live_.emplace(handle, deleter);
  }
  // Frees `handle` with the deleter it was added with; a handle not (or no longer) here is
  // left alone.
  void Free(uint64_t handle) {
    Deleter deleter = nullptr;
    {
      std::lock_guard lock(mu_);
      auto it = live_.find(handle);
      if (it == live_.end()) return;
      deleter = it->second;
      live_.erase(it);
    }
    deleter(handle);
  }

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, Deleter> live_;
};

}  // namespace modelvault::fs
