// The `modelvault` command: parses the command line and runs one subcommand. Exit status:
// 0 on success, 1 when the subcommand fails, 2 when the command line is malformed.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

// Carries a failed action's Status out of CLI11's callback to main(), inside cli/ only.
struct CommandFailed {
  Status status;
};

int PrintError(const std::string& message) {
  std::cerr << "modelvault: error: " << message << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app("Keeps ML model stores encrypted and signed at rest, and mounts them with FUSE.",
               "modelvault");
  app.set_version_flag("--version", std::string("modelvault ") + MODELVAULT_VERSION + " (format " +
                                        std::to_string(volume::kFormatVersion) + ")");
  app.require_subcommand(1);
  AddKeygenCommand(app);
  AddInitCommand(app);
  AddInfoCommand(app);
  AddMountCommand(app);
  AddUmountCommand(app);
  AddKeyslotCommand(app);
  AddAuditCommand(app);
  AddSignCommand(app);
  AddSigningKeyCommand(app);
  AddVerifyCommand(app);
  AddStatusCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CommandFailed& failed) {
    return PrintError(failed.status.message());
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, with exit code 0.
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    return PrintError(e.what());
  }
  return 0;
}

}  // namespace

void SetAction(CLI::App* cmd, std::function<Status()> action) {
  cmd->callback([action = std::move(action)] {
    Status status = action();
    if (!status.ok()) throw CommandFailed{std::move(status)};
  });
}

}  // namespace modelvault::cli

int main(int argc, char** argv) { return modelvault::cli::Main(argc, argv); }
