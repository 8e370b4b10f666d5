// `modelvault COMMAND --help` for every command at every depth, and `modelvault --version`.
// The commands are found by walking the "Subcommands:" lists of the help itself, so a
// command added without an "Examples:" footer fails here without this file being edited.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fs/mount_fixture.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

using fs::test::CliResult;
using fs::test::RunCli;
using Command = std::vector<std::string>;

std::string Join(const Command& command) {
  std::string joined = "modelvault";
  for (const std::string& word : command) joined += " " + word;
  return joined;
}

// The names CLI11 lists under "Subcommands:": lines of two spaces and a name, up to the
// next empty line (longer descriptions continue on lines indented further).
std::vector<std::string> ListedSubcommands(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream lines(help);
  std::string line;
  bool listing = false;
  while (std::getline(lines, line)) {
    if (line == "Subcommands:") {
      listing = true;
    } else if (line.empty()) {
      listing = false;
    } else if (listing && line.size() > 2 && line.starts_with("  ") && line[2] != ' ') {
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
}

// Every command below the top level, depth first; fails the test if any help fails.
void Walk(const Command& parent, std::vector<Command>* out) {
  Command args = parent;
  args.push_back("--help");
  const CliResult r = RunCli(args);
  ASSERT_TRUE(r.ok()) << Join(args) << ": " << r.Describe();
  for (const std::string& name : ListedSubcommands(r.out)) {
    Command child = parent;
    child.push_back(name);
    out->push_back(child);
    Walk(child, out);
  }
}

// True if `help` has an "Examples:" line followed by at least one `modelvault` command.
bool HasExamples(const std::string& help) {
  const size_t at = help.find("\nExamples:\n");
  if (at == std::string::npos) return false;
  return help.compare(at + 11, 13, "  modelvault ") == 0;
}

TEST(CliHelpTest, EveryCommandHasHelpWithExamples) {
  std::vector<Command> commands;
  ASSERT_NO_FATAL_FAILURE(Walk({}, &commands));
  // The walk itself must work: these commands exist at each depth.
  for (const Command& known : std::vector<Command>{{"keygen"},
                                                   {"mount"},
                                                   {"keyslot"},
                                                   {"keyslot", "add"},
                                                   {"keyslot", "list"},
                                                   {"keyslot", "remove"},
                                                   {"audit", "verify"},
                                                   {"signing-key", "generate"},
                                                   {"verify"}}) {
    EXPECT_NE(std::find(commands.begin(), commands.end(), known), commands.end())
        << Join(known) << " was not found in the help";
  }
  commands.push_back({});  // the top level too
  for (const Command& command : commands) {
    Command args = command;
    args.push_back("--help");
    const CliResult r = RunCli(args);
    ASSERT_TRUE(r.ok()) << Join(args) << ": " << r.Describe();
    EXPECT_NE(r.out.find("Usage: "), std::string::npos) << Join(args) << ":\n" << r.out;
    EXPECT_TRUE(HasExamples(r.out)) << Join(args) << " shows no examples:\n" << r.out;
  }
}

TEST(CliHelpTest, VersionNamesTheReleaseAndTheFormat) {
  const CliResult r = RunCli({"--version"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.out, std::string("modelvault ") + MODELVAULT_VERSION + " (format " +
                       std::to_string(volume::kFormatVersion) + ")\n");
}

}  // namespace
}  // namespace modelvault::cli
