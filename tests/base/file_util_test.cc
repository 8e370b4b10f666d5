// file_util: exclusive creation with an exact mode, atomic replacement, size-limited reads
// whose errors name the path, and the pread/pwrite loops. Runs in a fresh temporary
// directory per test.
#include "base/file_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace modelvault {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mv_file_util_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static int Mode(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return -1;
    return static_cast<int>(st.st_mode & 07777);
  }

  static std::vector<uint8_t> Read(const std::string& path) {
    auto r = ReadFileBytes(path, 1 << 20);
    return r.ok() ? *r : std::vector<uint8_t>{};
  }

  std::string dir_;
};

TEST_F(FileUtilTest, WriteNewFileCreatesWithContentsAndMode) {
  const std::string path = Path("key");
  ASSERT_TRUE(WriteNewFile(path, Bytes("secret"), 0600).ok());
  EXPECT_EQ(Read(path), Bytes("secret"));
  EXPECT_EQ(Mode(path), 0600);
}

TEST_F(FileUtilTest, WriteNewFileModeIgnoresUmask) {
  const mode_t old = umask(077);
  Status st = WriteNewFile(Path("shared"), Bytes("x"), 0644);
  umask(old);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Mode(Path("shared")), 0644);
}

TEST_F(FileUtilTest, WriteNewFileRefusesToOverwrite) {
  const std::string path = Path("header");
  ASSERT_TRUE(WriteNewFile(path, Bytes("first"), 0600).ok());
  Status st = WriteNewFile(path, Bytes("second"), 0644);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.ToErrno(), EEXIST);
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_EQ(Read(path), Bytes("first"));
  EXPECT_EQ(Mode(path), 0600);
}

TEST_F(FileUtilTest, WriteNewFileEmptyContents) {
  ASSERT_TRUE(WriteNewFile(Path("empty"), {}, 0600).ok());
  auto r = ReadFileBytes(Path("empty"), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TEST_F(FileUtilTest, WriteNewFileInMissingDirectoryFails) {
  Status st = WriteNewFile(Path("nodir/file"), Bytes("x"), 0600);
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_EQ(st.ToErrno(), ENOENT);
  EXPECT_NE(st.message().find(Path("nodir/file")), std::string::npos) << st.message();
}

TEST_F(FileUtilTest, WriteFileAtomicallyCreatesAndReplaces) {
  const std::string path = Path("config");
  ASSERT_TRUE(WriteFileAtomically(path, Bytes("version 1, longer"), 0600).ok());
  EXPECT_EQ(Read(path), Bytes("version 1, longer"));
  EXPECT_EQ(Mode(path), 0600);
  ASSERT_TRUE(WriteFileAtomically(path, Bytes("v2"), 0600).ok());
  EXPECT_EQ(Read(path), Bytes("v2"));  // shorter contents leave no tail behind
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    names.push_back(e.path().filename());
  }
  EXPECT_EQ(names, std::vector<std::string>{"config"});
}

TEST_F(FileUtilTest, WriteFileAtomicallyReplacesTheInode) {
  // Replacement is by rename, so a reader holding the old file keeps the old contents.
  const std::string path = Path("slots");
  ASSERT_TRUE(WriteFileAtomically(path, Bytes("old"), 0600).ok());
  UniqueFd old_fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(old_fd.valid());
  ASSERT_TRUE(WriteFileAtomically(path, Bytes("new!"), 0600).ok());
  std::vector<uint8_t> buf(8);
  auto n = PreadFull(old_fd.get(), buf, 0);
  ASSERT_TRUE(n.ok());
  buf.resize(*n);
  EXPECT_EQ(buf, Bytes("old"));
  EXPECT_EQ(Read(path), Bytes("new!"));
}

TEST_F(FileUtilTest, WriteFileAtomicallyIgnoresAStaleTemporary) {
  const std::string path = Path("state");
  ASSERT_TRUE(WriteNewFile(path + ".tmp", Bytes("left by a crash"), 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(path, Bytes("fresh"), 0600).ok());
  EXPECT_EQ(Read(path), Bytes("fresh"));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_F(FileUtilTest, WriteFileAtomicallyInMissingDirectoryFails) {
  Status st = WriteFileAtomically(Path("nodir/file"), Bytes("x"), 0600);
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_EQ(st.ToErrno(), ENOENT);
}

TEST_F(FileUtilTest, ReadFileBytesHonoursMaxSize) {
  const std::string path = Path("ten");
  ASSERT_TRUE(WriteNewFile(path, Bytes("0123456789"), 0600).ok());
  auto exact = ReadFileBytes(path, 10);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(*exact, Bytes("0123456789"));

  auto too_big = ReadFileBytes(path, 9);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), Code::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find(path), std::string::npos) << too_big.status().message();
  EXPECT_NE(too_big.status().message().find("9 bytes"), std::string::npos)
      << too_big.status().message();
}

TEST_F(FileUtilTest, ReadFileBytesMissingFileNamesThePath) {
  const std::string path = Path("absent");
  auto r = ReadFileBytes(path, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_EQ(r.status().ToErrno(), ENOENT);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
}

TEST_F(FileUtilTest, ReadFileBytesRefusesADirectory) {
  auto r = ReadFileBytes(dir_, 1 << 20);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(dir_), std::string::npos) << r.status().message();
}

TEST_F(FileUtilTest, ReadSecretFileReadsIntoSecretBytes) {
  const std::string path = Path("passphrase");
  ASSERT_TRUE(WriteNewFile(path, Bytes("correct horse"), 0600).ok());
  auto s = ReadSecretFile(path, 64);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->Equals(SecretBytes::CopyOf(Bytes("correct horse"))));
  auto small = ReadSecretFile(path, 4);
  EXPECT_EQ(small.status().code(), Code::kInvalidArgument);
  EXPECT_NE(small.status().message().find(path), std::string::npos);
}

TEST_F(FileUtilTest, PwriteFullAndPreadFullAtOffsets) {
  const std::string path = Path("data");
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> block(100000);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i % 251);
  ASSERT_TRUE(PwriteFull(fd.get(), block, 4096).ok());
  EXPECT_EQ(std::filesystem::file_size(path), 4096u + block.size());

  std::vector<uint8_t> back(block.size());
  auto n = PreadFull(fd.get(), back, 4096);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, block.size());
  EXPECT_EQ(back, block);

  std::vector<uint8_t> hole(4096, 0xff);  // the gap before the offset reads as zeros
  n = PreadFull(fd.get(), hole, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, hole.size());
  EXPECT_EQ(hole, std::vector<uint8_t>(4096, 0));
}

TEST_F(FileUtilTest, PreadFullIsShortOnlyAtEndOfFile) {
  const std::string path = Path("short");
  ASSERT_TRUE(WriteNewFile(path, Bytes("abcdef"), 0600).ok());
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> buf(10);
  auto n = PreadFull(fd.get(), buf, 2);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 4), Bytes("cdef"));
  n = PreadFull(fd.get(), buf, 100);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = PreadFull(fd.get(), {}, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(FileUtilTest, PreadAndPwriteReportErrno) {
  std::vector<uint8_t> buf(4);
  auto n = PreadFull(-1, buf, 0);
  EXPECT_EQ(n.status().code(), Code::kIOError);
  EXPECT_EQ(n.status().ToErrno(), EBADF);
  EXPECT_EQ(PwriteFull(-1, buf, 0).ToErrno(), EBADF);

  const std::string path = Path("ro");
  ASSERT_TRUE(WriteNewFile(path, Bytes("abcd"), 0600).ok());
  UniqueFd ro(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(ro.valid());
  EXPECT_EQ(PwriteFull(ro.get(), buf, 0).ToErrno(), EBADF);
  EXPECT_TRUE(PwriteFull(ro.get(), {}, 0).ok());  // nothing to write, nothing to fail
}

}  // namespace
}  // namespace modelvault
