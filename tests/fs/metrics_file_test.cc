// The metrics file on real mounts: it appears when the store is mounted, is rewritten every
// --metrics-interval seconds in the text exposition format that node_exporter's text-file
// collector reads (every sample "name{labels} value", # HELP and # TYPE before each family),
// its counters agree with `modelvault status`, and at unmount it keeps the final values.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using nlohmann::json;

// One parsed metrics file: sample values by "name{labels}", and the families declared.
struct Exposition {
  std::map<std::string, std::string> samples;
  std::set<std::string> families;
};

// Parses `text`, recording a failure for every line out of the format.
Exposition Parse(const std::string& text) {
  static const std::regex kSample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)$)re");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$)");
  Exposition e;
  std::string helped, typed;
  std::istringstream in(text);
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, kHelp)) {
      helped = m[1];
      EXPECT_FALSE(e.families.count(helped)) << "family declared twice: " << line;
    } else if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(m[1], helped) << "# TYPE without # HELP before it: " << line;
      typed = m[1];
      e.families.insert(typed);
      if (m[2] == "counter") {
        EXPECT_TRUE(typed.ends_with("_total")) << line;
      }
    } else if (std::regex_match(line, m, kSample)) {
      EXPECT_EQ(m[1], typed) << "sample outside its family's # HELP/# TYPE: " << line;
      EXPECT_NE(m[2].str().find("mountpoint=\""), std::string::npos) << line;
      EXPECT_NE(m[2].str().find("backing=\""), std::string::npos) << line;
      std::string name = m[1];
      std::string labels = m[2];
      // Keyed by name and the label that tells a family's samples apart, if any.
      auto check = labels.find("check=\"");
      if (check != std::string::npos)
        name += ":" + labels.substr(check + 7, labels.find('"', check + 7) - check - 7);
      EXPECT_FALSE(e.samples.count(name)) << "duplicate sample: " << line;
      e.samples[name] = m[3];
    } else {
      ADD_FAILURE() << "not in the exposition format: \"" << line << "\"";
    }
  }
  return e;
}

// Whether `pid` has exited: gone, or a zombie nobody has reaped yet (a daemon's parent is
// whatever adopted it).
bool Exited(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && stat->compare(paren + 2, 1, "Z") == 0;
}

class MetricsFileTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }
  std::string Prom() const { return T("textfile/modelvault.prom"); }
  json Status() {
    CliResult r = RunCli({"status", mountpoint(), "--json"});
    EXPECT_TRUE(r.ok()) << r.Describe();
    json s = json::parse(r.out, nullptr, false);
    return s.is_object() ? s : json();
  }
  // Waits up to `seconds` for the file to hold `value` for `sample`.
  bool WaitFor(const std::string& sample, const std::string& value, int seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < until) {
      auto text = ReadFile(Prom());
      if (text && Parse(*text).samples[sample] == value) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

TEST_F(MetricsFileTest, IsRewrittenEveryIntervalAndKeepsTheFinalValues) {
  ASSERT_EQ(::mkdir(T("textfile").c_str(), 0755), 0);
  ASSERT_TRUE(Mount({"--metrics-file", Prom(), "--metrics-interval", "1"}));
  // There as soon as the mount is.
  auto first = ReadFile(Prom());
  ASSERT_TRUE(first.has_value());
  struct stat st;
  ASSERT_EQ(::stat(Prom().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  Exposition e = Parse(*first);
  for (const char* family :
       {"modelvault_up", "modelvault_info", "modelvault_read_only", "modelvault_start_time_seconds",
        "modelvault_signed_directories", "modelvault_read_bytes_total",
        "modelvault_written_bytes_total", "modelvault_read_requests_total",
        "modelvault_write_requests_total", "modelvault_auth_failures_total",
        "modelvault_denied_requests_total", "modelvault_signature_failures_total"}) {
    EXPECT_TRUE(e.families.count(family)) << family << " missing from\n" << *first;
  }
  EXPECT_EQ(e.samples["modelvault_up"], "1");
  EXPECT_EQ(e.samples["modelvault_read_only"], "0");
  EXPECT_EQ(e.samples["modelvault_signature_failures_total:block"], "0");
  EXPECT_NE(first->find("mountpoint=\"" + mountpoint() + "\",backing=\"" + backing() + "\""),
            std::string::npos);

  const std::string data = PatternBytes(9, 50000);
  ASSERT_EQ(WriteFile(M("model.bin"), data), 0);
  ASSERT_TRUE(Remount({"--metrics-file", Prom(), "--metrics-interval", "1"}));
  EXPECT_TRUE(FileHolds(M("model.bin"), data));
  // Within an interval or two, the file shows the read.
  EXPECT_TRUE(WaitFor("modelvault_read_bytes_total", std::to_string(data.size()), 5))
      << ReadFile(Prom()).value_or("");
  json s = Status();
  ASSERT_FALSE(s.is_null());
  auto now = Parse(ReadFile(Prom()).value_or(""));
  EXPECT_EQ(now.samples["modelvault_read_requests_total"], s["counters"]["read_requests"].dump());
  EXPECT_EQ(now.samples["modelvault_start_time_seconds"], s["start_time"].dump());

  // More reads, then unmount before the next rewrite could show them: the file written at
  // unmount has them.
  ASSERT_EQ(WriteFile(M("second.bin"), data), 0);
  json last = Status();
  ASSERT_FALSE(last.is_null());
  ASSERT_TRUE(Unmount());
  auto final_text = ReadFile(Prom());
  ASSERT_TRUE(final_text.has_value());
  Exposition f = Parse(*final_text);
  EXPECT_EQ(f.samples["modelvault_up"], "0");
  EXPECT_EQ(f.samples["modelvault_written_bytes_total"], last["counters"]["written_bytes"].dump());
  EXPECT_EQ(f.samples["modelvault_read_bytes_total"], last["counters"]["read_bytes"].dump());
  EXPECT_GE(std::stoull(f.samples["modelvault_written_bytes_total"]), data.size());
  // Nothing is left behind beside it.
  EXPECT_EQ(ListDir(T("textfile")), std::vector<std::string>{"modelvault.prom"});
}

TEST_F(MetricsFileTest, TheConfigNamesTheFileAndFlagsOverrideIt) {
  ASSERT_EQ(::mkdir(T("textfile").c_str(), 0755), 0);
  const std::string config = T("mount.yaml");
  ASSERT_EQ(WriteFile(config, "unlock:\n  keyfile: " + keyfile() + "\nmetrics:\n  file: " + Prom() +
                                  "\n  interval: 7\n"),
            0);
  ASSERT_TRUE(Mount(backing(), mountpoint(), "", {"--config", config}));
  json s = Status();
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["metrics"]["file"], Prom());
  EXPECT_EQ(s["metrics"]["interval"], 7);
  EXPECT_TRUE(ReadFile(Prom()).has_value());
  ASSERT_TRUE(Unmount());
  const std::string other = T("textfile/other.prom");
  ASSERT_TRUE(Mount(backing(), mountpoint(), "",
                    {"--config", config, "--metrics-file", other, "--metrics-interval", "2"}));
  s = Status();
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["metrics"]["file"], other);
  EXPECT_EQ(s["metrics"]["interval"], 2);
  EXPECT_TRUE(ReadFile(other).has_value());
}

TEST_F(MetricsFileTest, UnmountingAReadOnlyMountWaitsForTheFinalValues) {
  // A read-only daemon holds no store lock; umount still returns only once it has exited,
  // so the final values are there and a new mount may take over the file at once.
  ASSERT_EQ(::mkdir(T("textfile").c_str(), 0755), 0);
  const std::vector<std::string> flags = {"--read-only", "--metrics-file", Prom(),
                                          "--metrics-interval", "30"};
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(Mount(flags)) << "round " << round;
    pid_t daemon = DaemonPid(mountpoint());
    ASSERT_GT(daemon, 0);
    ASSERT_TRUE(Unmount()) << "round " << round;
    EXPECT_TRUE(Exited(daemon)) << "the daemon still runs after umount returned";
    Exposition f = Parse(ReadFile(Prom()).value_or(""));
    EXPECT_EQ(f.samples["modelvault_up"], "0") << "round " << round;
  }
  EXPECT_EQ(ListDir(T("textfile")), std::vector<std::string>{"modelvault.prom"});
}

TEST_F(MetricsFileTest, AnUnwritablePathFailsTheMount) {
  CliResult r = RunCli({"mount", backing(), mountpoint(), "--keyfile", keyfile(), "--metrics-file",
                        T("no/such/dir/x.prom")});
  EXPECT_TRUE(FailedCleanly(r, "no/such/dir")) << r.Describe();
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

}  // namespace
}  // namespace modelvault::fs::test
