// ChildProcess: a command started in the background, for tests that watch a daemon that
// stays in the foreground (as a service manager runs it). Its stdout and stderr go to a
// file. The destructor kills (SIGKILL) and reaps a child that is still running, so that a
// failed assertion leaves no process behind. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace modelvault::fs::test {

class ChildProcess {
 public:
  // Runs `argv` (argv[0] searched in PATH) with our environment plus `env` ("NAME=VALUE"),
  // stdin from /dev/null, output to `log_path`. pid() is 0 if fork failed.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_code_.has_value(); }
  // Sends `sig` if the child still runs.
  void Signal(int sig);
  // Waits up to `timeout` for the child to end. Its exit code, 128+N if signal N ended
  // it, or nullopt if it still runs.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = 0;
  std::optional<int> exit_code_;
};

}  // namespace modelvault::fs::test
