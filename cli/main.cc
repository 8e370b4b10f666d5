// The `modelvault` command: parses the command line and runs one subcommand. Exit status:
// 0 on success, 1 when the subcommand fails, 2 when the command line is malformed.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/fstab_helper.h"
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
  AddStatusCommand(app);
  // Set after the subcommands, which would inherit it.
  app.footer(
      "Examples:\n"
      "  modelvault keygen /etc/modelvault/models.key\n"
      "  modelvault init /srv/models.enc --keyfile /etc/modelvault/models.key\n"
      "  modelvault mount /srv/models.enc /models --keyfile /etc/modelvault/models.key\n"
      "  modelvault umount /models\n"
      "Run `modelvault COMMAND --help` for a command's options and examples.\n\n"
      "As the mount helper of fstab entries of type fuse.modelvault (see DEPLOYMENT.md):\n"
      "  modelvault BACKING MOUNTPOINT -o config=/etc/modelvault/NAME.yaml[,ro]");
  // mount(8) runs us as `modelvault BACKING MOUNTPOINT -o OPTIONS` for fstab entries.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (!args.empty() && LooksLikeHelperCall(names, args[0])) {
    auto mount_args = HelperToMountArgs(args);
    if (!mount_args.ok()) return PrintError(mount_args.status().message());
    args = std::move(mount_args).value();
  }
  try {
    // CLI11 takes a vector of arguments last to first.
    std::reverse(args.begin(), args.end());
    app.parse(args);
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
