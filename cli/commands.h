// The subcommands of the `modelvault` program. Each Add*Command registers one subcommand on
// the top-level app, with its options and its action; main.cc parses and runs it.
//
// An action is a function returning Status, installed with SetAction: a failure prints one
// line "modelvault: error: MESSAGE" to stderr and the program exits with status 1 (or the
// status the action chose with SetActionWithExit). Only cli/ prints to stdout or decides
// the exit status.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "base/status.h"

namespace modelvault::cli {

void AddKeygenCommand(CLI::App& app);
void AddInitCommand(CLI::App& app);
void AddInfoCommand(CLI::App& app);
void AddMountCommand(CLI::App& app);
void AddUmountCommand(CLI::App& app);
void AddKeyslotCommand(CLI::App& app);
void AddAuditCommand(CLI::App& app);
void AddSignCommand(CLI::App& app);  // also `unfreeze`
void AddSigningKeyCommand(CLI::App& app);
void AddVerifyCommand(CLI::App& app);
void AddConfigCommand(CLI::App& app);
void AddPolicyCommand(CLI::App& app);
void AddStatusCommand(CLI::App& app);

// Makes `action` what runs when `cmd` is chosen on the command line.
void SetAction(CLI::App* cmd, std::function<Status()> action);

// For commands whose failures have different exit statuses: `action` also says which
// status a failure exits with (1 or more).
struct Outcome {
  Status status;
  int exit_code = 1;
};
void SetActionWithExit(CLI::App* cmd, std::function<Outcome()> action);

}  // namespace modelvault::cli
