// InitializeStore, ReadVolumeHeader, directory IDs and Volume::Open, on real directories.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/file_util.h"
#include "crypto/kdf.h"
#include "volume/dir_id.h"
#include "volume/name_codec.h"
#include "volume/volume.h"
#include "volume/volume_header.h"

namespace modelvault::volume {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "mv-store-test-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    tmp_ = templ;
    store_ = tmp_ + "/store";
    master_ = SecretBytes(32);
    master_.data()[0] = 7;
    auto keys = VolumeKeys::Derive(master_);
    ASSERT_TRUE(keys.ok());
    keys_ = *keys;
    header_.volume_id.bytes[0] = 1;
    header_.created = "2026-11-26T00:30:00Z";
    header_.keyslots.push_back(nlohmann::json{{"id", 0}, {"type", "keyfile"}});
  }
  void TearDown() override { fs::remove_all(tmp_); }

  static mode_t Mode(const std::string& path) {
    struct stat st;
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static std::set<std::string> Entries(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename());
    return names;
  }
  static std::string Contents(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string tmp_, store_;
  SecretBytes master_;
  std::shared_ptr<const VolumeKeys> keys_;
  VolumeHeader header_;
};

TEST_F(StoreTest, InitializeCreatesTheStoreFiles) {
  ASSERT_TRUE(InitializeStore(store_, header_, *keys_).ok());
  EXPECT_EQ(Mode(store_), 0700u);
  EXPECT_EQ(Entries(store_),
            (std::set<std::string>{".mvdir", "modelvault.json", "modelvault.lock"}));
  EXPECT_EQ(Mode(store_ + "/.mvdir"), 0400u);
  EXPECT_EQ(fs::file_size(store_ + "/.mvdir"), 16u);
  EXPECT_EQ(Mode(store_ + "/modelvault.lock"), 0600u);
  EXPECT_EQ(fs::file_size(store_ + "/modelvault.lock"), 0u);
  auto read = ReadVolumeHeader(store_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->Verify(*keys_).ok());
  EXPECT_EQ(read->volume_id, header_.volume_id);
  EXPECT_EQ(read->keyslots, header_.keyslots);
}

TEST_F(StoreTest, InitializeUsesAnExistingEmptyDirectory) {
  ASSERT_EQ(mkdir(store_.c_str(), 0750), 0);
  ASSERT_TRUE(InitializeStore(store_, header_, *keys_).ok());
  EXPECT_TRUE(ReadVolumeHeader(store_).ok());
}

TEST_F(StoreTest, InitializeRefusesANonEmptyDirectoryAndLeavesItAlone) {
  ASSERT_EQ(mkdir(store_.c_str(), 0750), 0);
  ASSERT_TRUE(WriteNewFile(store_ + "/weights.bin", crypto::AsBytes("data"), 0644).ok());
  Status st = InitializeStore(store_, header_, *keys_);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), store_ + " is not empty");
  EXPECT_EQ(Entries(store_), std::set<std::string>{"weights.bin"});
  EXPECT_EQ(Contents(store_ + "/weights.bin"), "data");
  EXPECT_EQ(Mode(store_), 0750u);
}

TEST_F(StoreTest, InitializeRefusesAnExistingStore) {
  ASSERT_TRUE(InitializeStore(store_, header_, *keys_).ok());
  std::string before = Contents(store_ + "/modelvault.json");
  EXPECT_EQ(InitializeStore(store_, header_, *keys_).code(), Code::kInvalidArgument);
  EXPECT_EQ(Contents(store_ + "/modelvault.json"), before);
}

TEST_F(StoreTest, InitializeWithABadBlockSizeCreatesNothing) {
  header_.block_size = 1000;
  EXPECT_EQ(InitializeStore(store_, header_, *keys_).code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(store_));
}

TEST_F(StoreTest, InitializeRefusesAFile) {
  ASSERT_TRUE(WriteNewFile(store_, {}, 0644).ok());
  EXPECT_EQ(InitializeStore(store_, header_, *keys_).code(), Code::kInvalidArgument);
  EXPECT_TRUE(fs::is_regular_file(store_));
}

TEST_F(StoreTest, ReadVolumeHeaderReportsMissingDirectoryAndNonStore) {
  auto missing = ReadVolumeHeader(store_);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(store_), std::string::npos);
  ASSERT_EQ(mkdir(store_.c_str(), 0700), 0);
  auto empty = ReadVolumeHeader(store_);
  EXPECT_EQ(empty.status().code(), Code::kNotFound);
  EXPECT_EQ(empty.status().message(), store_ + " is not a modelvault store (no modelvault.json)");
}

TEST_F(StoreTest, ReadVolumeHeaderNamesTheFileInParseErrors) {
  ASSERT_TRUE(InitializeStore(store_, header_, *keys_).ok());
  ASSERT_TRUE(
      WriteFileAtomically(store_ + "/modelvault.json", crypto::AsBytes("{\n\"x\"\n"), 0600).ok());
  auto header = ReadVolumeHeader(store_);
  EXPECT_EQ(header.status().code(), Code::kCorruption);
  EXPECT_EQ(header.status().message().rfind(store_ + "/modelvault.json: line ", 0), 0u)
      << header.status().message();
}

TEST_F(StoreTest, VolumeOpensWithTheRightKeyOnly) {
  ASSERT_TRUE(InitializeStore(store_, header_, *keys_).ok());
  auto volume = Volume::Open(store_, master_);
  ASSERT_TRUE(volume.ok()) << volume.status().ToString();
  EXPECT_EQ((*volume)->header().volume_id, header_.volume_id);
  EXPECT_EQ((*volume)->layout().block_size(), kDefaultBlockSize);

  SecretBytes wrong = SecretBytes::CopyOf(master_.span());
  wrong.data()[1] ^= 0x80;
  auto refused = Volume::Open(store_, wrong);
  EXPECT_EQ(refused.status().code(), Code::kCorruption);
  EXPECT_EQ(refused.status().message(),
            store_ +
                "/modelvault.json: header authentication failed (the file was modified, "
                "or belongs to another store)");
}

TEST_F(StoreTest, VolumeRefusesAnEditedHeader) {
  ASSERT_TRUE(InitializeStore(store_, header_, *keys_).ok());
  auto header = ReadVolumeHeader(store_);
  ASSERT_TRUE(header.ok());
  header->block_size = 4096;  // keeps the old MAC
  ASSERT_TRUE(WriteVolumeHeader(store_, *header).ok());
  EXPECT_EQ(Volume::Open(store_, master_).status().code(), Code::kCorruption);
}

TEST_F(StoreTest, DirIdRoundTripsAndCanBeReplaced) {
  ASSERT_EQ(mkdir(store_.c_str(), 0700), 0);
  UniqueFd dir(open(store_.c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(dir.valid());
  auto first = NewDirId();
  auto second = NewDirId();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  ASSERT_TRUE(WriteDirId(dir.get(), *first, store_).ok());
  EXPECT_EQ(*ReadDirId(dir.get(), store_), *first);
  ASSERT_TRUE(WriteDirId(dir.get(), *second, store_).ok());
  EXPECT_EQ(*ReadDirId(dir.get(), store_), *second);
  EXPECT_EQ(Mode(store_ + "/" + kDirIdFile), 0400u);
  EXPECT_EQ(Entries(store_), std::set<std::string>{kDirIdFile});
}

TEST_F(StoreTest, DirIdWorksThroughAnOPathDescriptor) {
  ASSERT_EQ(mkdir(store_.c_str(), 0700), 0);
  UniqueFd dir(open(store_.c_str(), O_PATH | O_DIRECTORY));
  ASSERT_TRUE(dir.valid());
  auto id = NewDirId();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WriteDirId(dir.get(), *id, store_).ok());
  EXPECT_EQ(*ReadDirId(dir.get(), store_), *id);
}

TEST_F(StoreTest, DirIdOfTheWrongSizeOrMissingIsCorruption) {
  ASSERT_EQ(mkdir(store_.c_str(), 0700), 0);
  UniqueFd dir(open(store_.c_str(), O_RDONLY | O_DIRECTORY));
  auto missing = ReadDirId(dir.get(), store_);
  EXPECT_EQ(missing.status().code(), Code::kCorruption);
  EXPECT_NE(missing.status().message().find(store_ + "/.mvdir"), std::string::npos);
  for (size_t size : {0, 15, 17}) {
    fs::remove(store_ + "/.mvdir");
    ASSERT_TRUE(WriteNewFile(store_ + "/.mvdir", std::vector<uint8_t>(size), 0600).ok());
    auto bad = ReadDirId(dir.get(), store_);
    EXPECT_EQ(bad.status().code(), Code::kCorruption) << size;
    EXPECT_NE(bad.status().message().find(store_ + "/.mvdir"), std::string::npos);
  }
}

}  // namespace
}  // namespace modelvault::volume
