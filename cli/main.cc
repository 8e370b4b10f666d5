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
  int exit_code = 1;
};

int PrintError(const std::string& message, int exit_code = 1) {
  std::cerr << "modelvault: error: " << message << "\n";
  return exit_code;
}

int Main(int argc, char** argv) {
  CLI::App app("Keeps ML model stores encrypted and signed at rest, and mounts them with FUSE.",
               "modelvault");
  app.set_version_flag("--version", std::string("modelvault ") + MODELVAULT_VERSION + " (format " +
                                        std::to_string(volume::kFormatVersion) + ")");
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  modelvault keygen /etc/modelvault/models.key\n"
      "  modelvault init /srv/models.enc --keyfile /etc/modelvault/models.key\n"
      "  modelvault mount /srv/models.enc /models --keyfile /etc/modelvault/models.key\n"
      "  modelvault umount /models\n"
      "Run `modelvault COMMAND --help` for a command's options and examples.");
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
  AddConfigCommand(app);
  AddPolicyCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CommandFailed& failed) {
    return PrintError(failed.status.message(), failed.exit_code);
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

void SetActionWithExit(CLI::App* cmd, std::function<Outcome()> action) {
  cmd->callback([action = std::move(action)] {
    Outcome outcome = action();
    if (!outcome.status.ok()) throw CommandFailed{std::move(outcome.status), outcome.exit_code};
  });
}

}  // namespace modelvault::cli

int main(int argc, char** argv) { return modelvault::cli::Main(argc, argv); }
